//! Metrics: counted functions, free counters/gauges/histograms, the Prometheus endpoint and a health
//! checkpoint.
//!
//! ```text
//! cargo run --example metrics --features prometheus
//! curl -s http://127.0.0.1:9464/metrics                                              # while it runs
//! curl -s -H 'Accept: application/openmetrics-text' http://127.0.0.1:9464/metrics    # with exemplars
//! ```
//! The example serves for `TELEM_EXAMPLE_SERVE_SECS` seconds (default 0) before it stops, then prints
//! the exposition and the final health checkpoint. Without the `prometheus` feature it prints the
//! exposition only (`telem::metrics::render()` needs no endpoint).

use std::time::Duration;
use telem::health::Monitor;

/// Every call counted in `function.calls{function="charge",result=…}`, its latency in
/// `function.calls.duration`, and the calls in flight in `function.calls.concurrent`. With `#[span]`
/// as well, each call is a span too.
#[telem::span(err)]
#[telem::counted(duration, concurrency, labels(service = "billing"))]
fn charge(order: u32) -> Result<u32, String> {
    std::thread::sleep(Duration::from_micros(200 * u64::from(order % 5)));
    if order % 4 == 0 {
        Err(format!("card declined for order {order}"))
    } else {
        Ok(order * 100)
    }
}

/// A counted function never called: exported at zero all the same.
#[telem::counted]
#[allow(dead_code)]
fn refund(_order: u32) {}

fn main() {
    let telem = telem::Builder::new().service_name("metrics-example").exporter("console", false).init();
    match telem::metrics::endpoint() {
        Some(addr) => println!("serving metrics on http://{addr}/metrics"),
        None => println!("no endpoint (build with --features prometheus); rendering below"),
    }
    let monitor = Monitor::builder().interval(Duration::from_millis(100)).start();

    let (mut completed, mut failed) = (0, 0);
    for order in 1..=40u32 {
        match charge(order) {
            Ok(cents) => {
                completed += 1;
                telem::counter!("revenue", unit = "{cent}", currency = "EUR").add(u64::from(cents));
            }
            Err(_) => failed += 1,
        }
        let region = if order % 2 == 0 { "eu" } else { "us" };
        telem::counter!("orders", region = region).increment();
        telem::histogram!("order.size", unit = "By", buckets = [100, 1000, 10000], region = region).record(order * 250);
        telem::gauge!("queue.size", queue = "billing").set(40 - order);
        if order % 10 == 0 {
            let checkpoint = monitor.checkpoint(completed, failed, 1, u64::from(40 - order), 4, 1);
            println!("checkpoint: {checkpoint}");
        }
    }

    let serve: u64 = std::env::var("TELEM_EXAMPLE_SERVE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if serve > 0 {
        println!("scrape it now; stopping in {serve} s");
        std::thread::sleep(Duration::from_secs(serve));
    }
    println!("{}", telem::metrics::render());
    println!("final: {}", monitor.stop());
    telem.shutdown();
}
