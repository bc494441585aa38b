//! The console exporter: one line per span and per event on stderr.
//!
//! ```text
//! [telem] checkout/step[0] ok 142ms {step.index: 0}
//! [telem] charge error 3.10ms "card declined" {amount: 12}
//! [telem] WARN cache.miss "missed user:123" {key: "user:123", hit: false}
//! ```
//! A span whose status is unset or ok prints `ok`; the store keeps the exact status. Within a batch,
//! lines come in time order (a span at its end, an event when it happened). `session.start` and
//! `session.end` are not printed.

use super::{Batch, EventRef, ExportError, Exporter, SpanRef};
use crate::config::{Config, ConsoleMode};
use crate::trace::record::Status;
use crate::trace::value::Value;
use std::io::Write;

/// Prints spans to stderr (or any writer), as text or JSON lines.
pub struct Console {
    mode: ConsoleMode,
    buf: Vec<u8>,
    out: Option<Box<dyn Write + Send>>,
}

impl Console {
    /// A console exporter in the given mode, writing to stderr.
    pub fn new(mode: ConsoleMode) -> Console {
        Console { mode, buf: Vec::new(), out: None }
    }

    /// A console exporter in the given mode, writing to `out` instead of stderr (a file, a pipe, a
    /// buffer in a test). Each batch is one `write_all`.
    pub fn with_writer(mode: ConsoleMode, out: impl Write + Send + 'static) -> Console {
        Console { mode, buf: Vec::new(), out: Some(Box::new(out)) }
    }

    fn build(config: &Config) -> Result<Option<Box<dyn Exporter>>, ExportError> {
        Ok((config.console() != ConsoleMode::Off)
            .then(|| Box::new(Console::new(config.console())) as Box<dyn Exporter>))
    }
}

/// A duration with three significant digits and a unit: `812ns`, `3.40µs`, `142ms`, `2.31s`.
pub(crate) fn human_duration(ns: u64) -> String {
    let (value, unit) = match ns {
        0..=999 => return format!("{ns}ns"),
        1_000..=999_999 => (ns as f64 / 1e3, "µs"),
        1_000_000..=999_999_999 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$}{unit}")
}

/// One span, one line: the name and keys are written with control characters escaped (`\n`), string
/// values quoted and escaped, so nothing a span carries can break the line.
pub(crate) fn text_line(out: &mut Vec<u8>, span: &SpanRef<'_>) {
    let _ = write!(out, "[telem] {} ", span.name().escape_debug());
    match span.status() {
        Status::Error(message) if !message.is_empty() => {
            let _ = write!(out, "error {} {:?}", human_duration(span.duration_ns()), message);
        }
        Status::Error(_) => {
            let _ = write!(out, "error {}", human_duration(span.duration_ns()));
        }
        _ => {
            let _ = write!(out, "ok {}", human_duration(span.duration_ns()));
        }
    }
    fields(out, span.attributes());
    out.push(b'\n');
}

/// ` {k: v, …}`, keys escaped, strings quoted; nothing when there are none.
fn fields<'a, V: std::borrow::Borrow<Value>>(out: &mut Vec<u8>, fields: impl Iterator<Item = (&'a str, V)>) {
    let mut fields = fields.peekable();
    if fields.peek().is_none() {
        return;
    }
    out.extend_from_slice(b" {");
    for (i, (k, v)) in fields.enumerate() {
        let _ = write!(out, "{}{}: ", if i > 0 { ", " } else { "" }, k.escape_debug());
        let _ = match v.borrow() {
            Value::Str(s) => write!(out, "{s:?}"),
            other => write!(out, "{other}"),
        };
    }
    out.push(b'}');
}

/// One event, one line: level, name, the message quoted, the fields.
pub(crate) fn event_line(out: &mut Vec<u8>, event: &EventRef<'_>) {
    let _ = write!(out, "[telem] {} {}", event.level(), event.name().escape_debug());
    if let Some(message) = event.message() {
        let _ = write!(out, " {message:?}");
    }
    fields(out, event.fields());
    out.push(b'\n');
}

impl Exporter for Console {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        self.buf.clear();
        if self.mode == ConsoleMode::Off {
            return Ok(());
        }
        let json = self.mode == ConsoleMode::Json;
        // Spans at their end and events when they happened, merged in time order.
        let mut spans = batch.spans().peekable();
        // Session bookkeeping is for the store and the backends, not for a terminal.
        let mut events = batch.events().filter(|e| !e.is_session()).peekable();
        loop {
            let span_first = match (spans.peek(), events.peek()) {
                (Some(s), Some(e)) => s.end_unix_ns() <= e.time_unix_ns(),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if span_first {
                let span = spans.next().expect("peeked");
                match json {
                    true => super::json::write_span(&mut self.buf, &span, batch.service_name()),
                    false => text_line(&mut self.buf, &span),
                }
            } else {
                let event = events.next().expect("peeked");
                match json {
                    true => super::json::write_event(&mut self.buf, &event, batch.service_name()),
                    false => event_line(&mut self.buf, &event),
                }
            }
        }
        match &mut self.out {
            Some(out) => out.write_all(&self.buf)?,
            None => std::io::stderr().lock().write_all(&self.buf)?,
        }
        Ok(())
    }
}

inventory::submit! { super::ExporterRegistration::new("console", Console::build) }
