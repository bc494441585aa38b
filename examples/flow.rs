//! A checkout pipeline as a `#[flow]`: each order is one trace, each `#[step]` a child span of it.
//!
//! ```text
//! cargo run --example flow
//! ```
//! prints each order's trace as a tree: the steps in order, one `price` step per item (the loop's
//! pass in `step.iteration`), the receipt sub-flow, and the steps that failed with their error.

use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug)]
struct Order {
    id: u32,
    items: Vec<&'static str>,
    card: &'static str,
}

#[derive(Debug)]
enum CheckoutError {
    Empty,
    OutOfStock(&'static str),
    Declined(&'static str),
}

impl std::fmt::Display for CheckoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckoutError::Empty => write!(f, "the order has no items"),
            CheckoutError::OutOfStock(item) => write!(f, "{item} is out of stock"),
            CheckoutError::Declined(card) => write!(f, "card {card} was declined"),
        }
    }
}

/// One trace per order. Each statement marked `#[step]` is a child span; a `?` that fails ends its
/// step with the error, and `err` puts it on the flow's root too.
#[telem::flow(name = "checkout", kind = server, fields(order.id = order.id), err)]
async fn checkout(order: Order) -> Result<String, CheckoutError> {
    #[step("validate")]
    validate(&order)?;
    let mut total = 0;
    for item in &order.items {
        // One span per pass, with `step.iteration`.
        #[step(name = "price", fields(item = *item))]
        total += price(item).await?;
    }
    #[step("charge")]
    let charge_id = charge(order.card, total).await?;
    // A flow called inside a step is a sub-flow: same trace, under this step.
    #[step("receipt")]
    let receipt = send_receipt(order.id, total, &charge_id);
    Ok(receipt)
}

fn validate(order: &Order) -> Result<(), CheckoutError> {
    if order.items.is_empty() {
        Err(CheckoutError::Empty)
    } else {
        Ok(())
    }
}

#[telem::span(name = "db.price", args, err)]
async fn price(item: &str) -> Result<u32, CheckoutError> {
    tokio::time::sleep(Duration::from_millis(1)).await; // a pretend database
    match item {
        "tea" => Ok(4),
        "cake" => Ok(6),
        _ => Err(CheckoutError::OutOfStock("scones")),
    }
}

#[telem::span(name = "payments.charge", kind = client, err)]
async fn charge(card: &'static str, amount: u32) -> Result<String, CheckoutError> {
    tokio::task::yield_now().await; // a pretend payment provider
    if card.starts_with('0') {
        Err(CheckoutError::Declined(card))
    } else {
        Ok(format!("ch_{card}_{amount}"))
    }
}

#[telem::flow]
fn send_receipt(order: u32, total: u32, charge_id: &str) -> String {
    #[step]
    let text = format!("order {order}: {total} (charge {charge_id})");
    #[step("deliver")]
    std::hint::black_box(&text);
    text
}

fn main() {
    let memory = telem::exporters::Memory::default();
    let telem = telem::Builder::new()
        .service_name("flow-example")
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("memory", memory.clone())
        .init();

    let orders = [
        Order { id: 1, items: vec!["tea", "cake", "tea"], card: "4242" },
        Order { id: 2, items: vec!["tea", "scones"], card: "4242" },
        Order { id: 3, items: vec!["cake"], card: "0000" },
        Order { id: 4, items: vec![], card: "4242" },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = orders.into_iter().map(|order| (order.id, tokio::spawn(checkout(order)))).collect();
        for (id, task) in tasks {
            match task.await.unwrap() {
                Ok(receipt) => println!("{receipt}"),
                Err(e) => println!("order {id}: failed: {e}"),
            }
        }
    });
    assert!(telem.shutdown(), "every span was exported");

    // Each order's trace as a tree, children in the order they started.
    let spans = memory.spans();
    let mut traces: BTreeMap<u64, Vec<&telem::SpanData>> = BTreeMap::new();
    for root in spans.iter().filter(|s| s.parent_id.is_none()) {
        let order = match root.attribute("order.id") {
            Some(telem::Value::U64(n)) => *n,
            _ => continue,
        };
        traces.insert(order, spans.iter().filter(|s| s.trace_id == root.trace_id).collect());
    }
    for (order, mut trace) in traces {
        trace.sort_by_key(|s| s.start_unix_ns);
        println!("\ntrace of order {order} ({} spans):", trace.len());
        let root = trace.iter().find(|s| s.parent_id.is_none()).expect("a root");
        print_tree(&trace, root, 1);
    }
}

fn print_tree(trace: &[&telem::SpanData], span: &telem::SpanData, depth: usize) {
    let mut line = format!("{:indent$}{}", "", span.name, indent = depth * 2);
    if let Some(telem::Value::U64(pass)) = span.attribute("step.iteration") {
        line.push_str(&format!(" [pass {pass}]"));
    }
    if let telem::Status::Error(message) = &span.status {
        line.push_str(&format!("  ✗ {message}"));
    }
    println!("{line}");
    for child in trace.iter().filter(|c| c.parent_id == Some(span.span_id)) {
        print_tree(trace, child, depth + 1);
    }
}
