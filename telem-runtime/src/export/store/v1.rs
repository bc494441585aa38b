//! Format v1: one JSON object per line (`.jsonl`, written by telem before format v2). Read so that older
//! session files stay usable; nothing writes it any more (the console's JSON mode keeps the same line).
//!
//! JSON does not say whether an integer was signed: an attribute integer reads back as
//! [`Value::I64`] when it fits, else [`Value::U64`]; a non-finite float was written as a string and
//! reads back as one.

use super::span::StoredSpan;
use crate::ids::{SpanId, TraceId};
use crate::trace::callsite::SpanKind;
use crate::trace::record::{Link, Status};
use crate::trace::value::Value;
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::sync::Arc;

/// One line → one span, or what is wrong with it.
pub(super) fn parse_line(line: &str) -> Result<StoredSpan, String> {
    let json: Json = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let o = json.as_object().ok_or("not a JSON object")?;
    match o.get("v").and_then(Json::as_u64) {
        Some(1) => {}
        Some(v) => return Err(format!("format version {v} in a JSON line (only 1 is known)")),
        None => return Err("no format version `v`".into()),
    }
    let start_unix_ns = u64_field(o, "start_unix_ns")?;
    let end_unix_ns = u64_field(o, "end_unix_ns")?;
    let status = match str_field(o, "status")? {
        "unset" => Status::Unset,
        "ok" => Status::Ok,
        "error" => Status::Error(Cow::Owned(o.get("status_message").and_then(Json::as_str).unwrap_or("").to_owned())),
        other => return Err(format!("unknown status {other:?}")),
    };
    let kind = match str_field(o, "kind")? {
        "internal" => SpanKind::Internal,
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        other => return Err(format!("unknown kind {other:?}")),
    };
    let mut links = Vec::new();
    if let Some(list) = o.get("links") {
        for link in list.as_array().ok_or("`links` is not an array")? {
            let l = link.as_object().ok_or("a link is not an object")?;
            links.push(Link {
                trace_id: TraceId(hex_field(l, "trace_id", 32)?),
                span_id: SpanId(hex_field(l, "span_id", 16)? as u64),
                sampled: l.get("sampled").and_then(Json::as_bool).ok_or("a link has no `sampled`")?,
                attributes: attributes(l)?.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect(),
            });
        }
    }
    let parent_id = match o.get("parent_id") {
        None | Some(Json::Null) => None,
        Some(_) => Some(SpanId(hex_field(o, "parent_id", 16)? as u64)),
    };
    let service = str_field(o, "service")?;
    Ok(StoredSpan {
        resource: Arc::new(crate::resource::Resource::from_service_name(service)),
        service: Arc::from(service),
        trace_id: TraceId(hex_field(o, "trace_id", 32)?),
        span_id: SpanId(hex_field(o, "span_id", 16)? as u64),
        parent_id,
        name: Arc::from(str_field(o, "name")?),
        kind,
        start_unix_ns,
        end_unix_ns,
        status,
        attributes: attributes(o)?,
        links,
        module: Arc::from(str_field(o, "module")?),
        file: Arc::from(str_field(o, "file")?),
        line: u32::try_from(u64_field(o, "line")?).map_err(|_| "`line` is out of range")?,
        thread: Arc::from(str_field(o, "thread")?),
        thread_id: u64_field(o, "thread_id")?,
        events: Vec::new(),
    })
}

fn str_field<'a>(o: &'a Map<String, Json>, key: &str) -> Result<&'a str, String> {
    o.get(key).and_then(Json::as_str).ok_or_else(|| format!("no string `{key}`"))
}

fn u64_field(o: &Map<String, Json>, key: &str) -> Result<u64, String> {
    o.get(key).and_then(Json::as_u64).ok_or_else(|| format!("no unsigned integer `{key}`"))
}

fn hex_field(o: &Map<String, Json>, key: &str, digits: usize) -> Result<u128, String> {
    let s = str_field(o, key)?;
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{key}` is not {digits} hex digits"));
    }
    u128::from_str_radix(s, 16).map_err(|_| format!("`{key}` is not {digits} hex digits"))
}

fn attributes(o: &Map<String, Json>) -> Result<Vec<(String, Value)>, String> {
    let map = o.get("attributes").and_then(Json::as_object).ok_or("no object `attributes`")?;
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                Json::Bool(b) => Value::Bool(*b),
                Json::String(s) => Value::Str(Cow::Owned(s.clone())),
                Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                    _ if n.is_f64() => Value::F64(n.as_f64().unwrap_or(f64::NAN)),
                    (Some(i), _, _) => Value::I64(i),
                    (_, Some(u), _) => Value::U64(u),
                    (_, _, f) => Value::F64(f.unwrap_or(f64::NAN)),
                },
                _ => return Err(format!("attribute `{k}` is not a string, number or boolean")),
            };
            Ok((k.clone(), value))
        })
        .collect()
}
