//! The Prometheus endpoint (feature `prometheus`): `GET /metrics` (any path) answers with the
//! exposition in the format the `Accept` header asks for. `tiny_http` serves it on a thread of its own
//! (`telem-prometheus`), started by `init` and stopped by `shutdown`; scrapes never touch the rings or
//! the collector, only the metrics' atomics.

use super::exposition::{render_as, Format};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The running endpoint: its server (to unblock it) and thread.
pub(crate) struct Endpoint {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    addr: SocketAddr,
}

static RUNNING: Mutex<Option<SocketAddr>> = Mutex::new(None);

/// Binds `addr` and serves it; the error says what could not be bound and why.
pub(crate) fn start(addr: SocketAddr) -> Result<Endpoint, String> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| format!("the Prometheus endpoint cannot listen on {addr} (TELEM_PROMETHEUS_ADDR): {e}"))?;
    let addr = server.server_addr().to_ip().unwrap_or(addr);
    let server = Arc::new(server);
    let serving = server.clone();
    let thread = std::thread::Builder::new()
        .name("telem-prometheus".into())
        .spawn(move || {
            for request in serving.incoming_requests() {
                answer(request);
            }
        })
        .map_err(|e| format!("the Prometheus endpoint cannot start its thread: {e}"))?;
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = Some(addr);
    Ok(Endpoint { server, thread: Some(thread), addr })
}

fn answer(request: tiny_http::Request) {
    let accept = request.headers().iter().find(|h| h.field.equiv("Accept")).map(|h| h.value.as_str().to_owned());
    let response = match request.method() {
        tiny_http::Method::Get | tiny_http::Method::Head => {
            let format = Format::from_accept(accept.as_deref());
            let body = render_as(format);
            let header = tiny_http::Header::from_bytes("Content-Type", format.content_type()).expect("a valid header");
            tiny_http::Response::from_string(body).with_header(header).with_header(close())
        }
        _ => tiny_http::Response::from_string("only GET is served here\n").with_status_code(405).with_header(close()),
    };
    let _ = request.respond(response);
}

/// Every response closes its connection: a scrape a second apart gains nothing from keeping it, and
/// a kept connection would outlive `shutdown` unanswered (tiny_http stops accepting, not serving).
fn close() -> tiny_http::Header {
    tiny_http::Header::from_bytes("Connection", "close").expect("a valid header")
}

/// The address being served, if any.
pub(crate) fn address() -> Option<SocketAddr> {
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if *running == Some(self.addr) {
            *running = None;
        }
        drop(running);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
