//! One span as one JSON object: the console's JSON mode, and the line of the local store's format v1
//! (which the store no longer writes; `store/v1.rs` reads it back); `links` (a list of `{trace_id,
//! span_id, sampled, attributes}`) appears only on spans that have links. Written by hand into a reused
//! buffer; `serde_json` only escapes strings.

use super::{EventRef, SpanRef};
use crate::trace::record::Status;
use crate::trace::value::Value;
use std::io::Write;

/// The `v` field of every line. Bump it when a field changes meaning; adding fields does not.
pub(crate) const FORMAT_VERSION: u32 = 1;

pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub(crate) fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::I64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::U64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::F64(n) if n.is_finite() => {
            let _ = write!(out, "{n:?}");
        }
        Value::F64(n) => string(out, &n.to_string()),
        Value::Str(s) => string(out, s),
    }
}

fn attributes<'a>(out: &mut Vec<u8>, attributes: impl Iterator<Item = (&'a str, &'a Value)>) {
    out.push(b'{');
    for (i, (k, v)) in attributes.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, k);
        out.push(b':');
        value(out, v);
    }
    out.push(b'}');
}

/// Appends the span as one JSON object followed by a newline.
pub(crate) fn write_span(out: &mut Vec<u8>, span: &SpanRef<'_>, service: &str) {
    let _ = write!(out, "{{\"v\":{FORMAT_VERSION},\"service\":");
    string(out, service);
    let _ = write!(out, ",\"trace_id\":\"{}\",\"span_id\":\"{}\",\"parent_id\":", span.trace_id(), span.span_id());
    match span.parent_id() {
        Some(p) => {
            let _ = write!(out, "\"{p}\"");
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"name\":");
    string(out, span.name());
    let start = span.start_unix_ns();
    let duration = span.duration_ns();
    let status = span.status();
    let _ = write!(
        out,
        ",\"kind\":\"{}\",\"start_unix_ns\":{start},\"end_unix_ns\":{},\"duration_ns\":{duration},\"status\":\"{}\",\"status_message\":",
        span.kind().as_str(),
        start + duration,
        status.as_str(),
    );
    match &status {
        Status::Error(message) => string(out, message),
        _ => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"attributes\":");
    attributes(out, span.attributes());
    if !span.links().is_empty() {
        out.extend_from_slice(b",\"links\":[");
        for (i, link) in span.links().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = write!(
                out,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",\"sampled\":{},\"attributes\":",
                link.trace_id, link.span_id, link.sampled
            );
            attributes(out, link.attributes.iter().map(|(k, v)| (&**k, v)));
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"module\":");
    string(out, span.module());
    out.extend_from_slice(b",\"file\":");
    string(out, span.file());
    let thread = span.thread();
    let _ = write!(out, ",\"line\":{},\"thread\":", span.line());
    string(out, thread.name);
    let _ = writeln!(out, ",\"thread_id\":{}}}", thread.id);
}

/// Appends the event as one JSON object followed by a newline: the shape structured loggers print
/// (`timestamp`, `level`, `message`, then telem's `name`, ids and `fields`).
pub(crate) fn write_event(out: &mut Vec<u8>, event: &EventRef<'_>, service: &str) {
    let _ = write!(
        out,
        "{{\"timestamp\":\"{}\",\"level\":\"{}\",\"message\":",
        crate::clock::rfc3339(event.time_unix_ns()),
        event.level().as_str()
    );
    match event.message() {
        Some(m) => string(out, m),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"name\":");
    string(out, event.name());
    match (event.trace_id(), event.span_id()) {
        (Some(t), Some(s)) => {
            let _ = write!(out, ",\"trace_id\":\"{t}\",\"span_id\":\"{s}\"");
        }
        _ => out.extend_from_slice(b",\"trace_id\":null,\"span_id\":null"),
    }
    out.extend_from_slice(b",\"fields\":{");
    for (i, (k, v)) in event.fields().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, k);
        out.push(b':');
        value(out, &v);
    }
    out.extend_from_slice(b"},\"service\":");
    string(out, service);
    out.extend_from_slice(b",\"target\":");
    string(out, event.module());
    out.extend_from_slice(b",\"file\":");
    string(out, event.file());
    let thread = event.thread();
    let _ = write!(out, ",\"line\":{},\"thread\":", event.line());
    string(out, thread.name);
    let _ = writeln!(out, ",\"thread_id\":{},\"session_index\":{}}}", thread.id, event.session_index());
}
