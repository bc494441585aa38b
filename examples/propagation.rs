//! Continuing a trace from another process: read `traceparent`/`tracestate`/`baggage` from incoming
//! headers, run a span under them, and print the headers an outgoing call would carry.
//!
//! ```text
//! cargo run --example propagation
//! cargo run --example propagation -- '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' 'congo=t61rcWkgMzE'
//! ```
//! Arguments: a `traceparent` value, then optionally a `tracestate` and a `baggage` value. An invalid
//! `traceparent` is reported and the span starts a new trace, as the W3C Recommendation asks.

use std::collections::HashMap;
use telem::propagation;

fn main() {
    let telem = telem::Builder::new().exporter("store", false).init();
    let mut args = std::env::args().skip(1);
    let mut incoming = HashMap::new();
    incoming.insert(
        "traceparent".to_string(),
        args.next().unwrap_or_else(|| "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string()),
    );
    incoming.insert("tracestate".to_string(), args.next().unwrap_or_else(|| "congo=t61rcWkgMzE".to_string()));
    incoming.insert("baggage".to_string(), args.next().unwrap_or_else(|| "user.id=alice,region=eu-west".to_string()));
    println!("incoming:");
    for name in [propagation::TRACEPARENT, propagation::TRACESTATE, propagation::BAGGAGE] {
        println!("  {name}: {}", incoming[name]);
    }

    // `extract` would quietly start a new trace on bad input; `try_extract` also says why.
    let parent = match propagation::try_extract(&incoming) {
        Ok(parent) => parent,
        Err(e) => {
            eprintln!("note: {e}");
            e.into_context()
        }
    };
    let _attached = parent.as_ref().map(|ctx| ctx.attach());

    let outgoing = telem::in_span("handle request", |_| {
        let mut ctx = telem::Context::current().expect("a span is current");
        if let Some(user) = ctx.baggage.get("user.id") {
            println!("baggage user.id = {user}");
        }
        // A vendor updating its own tracestate entry: it moves to the front.
        ctx.trace_state.set("telem", &ctx.span_id.to_string()).expect("a valid key and value");
        let mut outgoing = HashMap::new();
        propagation::inject(&ctx, &mut outgoing);
        outgoing
    });
    println!("outgoing:");
    for name in [propagation::TRACEPARENT, propagation::TRACESTATE, propagation::BAGGAGE] {
        if let Some(value) = outgoing.get(name) {
            println!("  {name}: {value}");
        }
    }
    telem.shutdown();
}
