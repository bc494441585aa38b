//! A small order service, instrumented with telem.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//! prints each span on stderr as it is exported and appends them to the local store under `.telem/`.

use std::time::Duration;

#[derive(Debug)]
struct Order {
    id: u32,
    items: Vec<&'static str>,
}

#[derive(Debug)]
enum CheckoutError {
    OutOfStock(&'static str),
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckoutError::OutOfStock(item) => write!(f, "{item} is out of stock"),
        }
    }
}

/// A root span per order; the children below hang under it, also across `.await`s on other workers.
#[telem::span(name = "checkout", kind = server, fields(order.id = order.id, items = order.items.len()), err)]
async fn checkout(order: Order) -> Result<u32, CheckoutError> {
    let mut total = 0;
    for item in &order.items {
        total += price(item).await?;
    }
    let receipt = render_receipt(total);
    telem::current_span().set_attribute("receipt.bytes", receipt.len());
    Ok(total)
}

#[telem::span(args, err)]
async fn price(item: &str) -> Result<u32, CheckoutError> {
    tokio::time::sleep(Duration::from_millis(2)).await; // a pretend database
    match item {
        "tea" => Ok(4),
        "cake" => Ok(6),
        _ => Err(CheckoutError::OutOfStock("scones")),
    }
}

#[telem::span]
fn render_receipt(total: u32) -> String {
    format!("total: {total}")
}

#[telem::span(fields(lines = text.lines().count()))]
fn import(text: &str) -> Vec<Order> {
    text.lines().enumerate().map(|(i, line)| parse_line(i as u32, line)).collect()
}

#[telem::span]
fn parse_line(id: u32, line: &str) -> Order {
    if line.is_empty() {
        panic!("order {id} is empty");
    }
    Order {
        id,
        items: line
            .split(',')
            .map(|s| {
                if s == "tea" {
                    "tea"
                } else if s == "cake" {
                    "cake"
                } else {
                    "scones"
                }
            })
            .collect(),
    }
}

fn main() {
    // One line per panic instead of a backtrace; telem's own hook runs first and then calls this one.
    std::panic::set_hook(Box::new(|info| eprintln!("(caught below) {info}")));
    let _telem = telem::Builder::new().service_name("quickstart").init();

    // Nested synchronous spans, and a panic that the caller catches: the span still reaches the store,
    // marked as an error with the panic message.
    let orders = import("tea,cake\ntea\ncake,scones");
    let broken = std::panic::catch_unwind(|| import("tea\n\ncake"));
    println!("imported {} orders; a broken import was caught: {}", orders.len(), broken.is_err());

    // Async spans on a multi-threaded executor.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = orders.into_iter().map(|order| tokio::spawn(checkout(order))).collect();
        for task in tasks {
            match task.await.unwrap() {
                Ok(total) => println!("checked out, total {total}"),
                Err(e) => println!("checkout failed: {e}"),
            }
        }
    });

    // A manual span, for work no attribute can annotate.
    telem::in_span("report", |span| span.set_attribute("orders", 3u64));

    telem::flush();
    let stats = telem::stats();
    println!("\n{} spans recorded; per exporter:", stats.recorded);
    for e in &stats.exporters {
        println!("  {:8} exported {:3}  dropped {}  in flight {}", e.name, e.exported, e.dropped, e.in_flight);
    }
    if let Ok(dir) = std::fs::read_dir(std::env::var("TELEM_STORE_DIR").unwrap_or_else(|_| ".telem".into())) {
        let newest = dir.filter_map(|e| e.ok()).map(|e| e.path()).max();
        if let Some(path) = newest {
            // Read back what this session stored (`telem::store` also reads a whole directory).
            match telem::store::read_file(&path) {
                Ok(spans) => {
                    let errors = spans.iter().filter(|s| s.is_error()).count();
                    println!("store: {} ({} spans, {errors} failed)", path.display(), spans.len());
                }
                Err(e) => println!("store: {e}"),
            }
        }
    }
}
