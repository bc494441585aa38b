//! The resource: who is emitting. One set of attributes — service, version, environment, host, OS,
//! process, the SDK, the session — resolved once at `init` and shared by every batch of the session
//! (exporters send it once per request, the store once per session), instead of being copied onto
//! each span.
//!
//! Sources, later ones winning: what telem detects, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`
//! (the OpenTelemetry precedence: it beats a `service.name` in the attribute list), the builder.

use crate::trace::value::Value;
use std::borrow::Cow;

/// The attributes describing the process that recorded a batch: `service.name`, `service.version`,
/// `deployment.environment.name`, `host.*`, `os.*`, `process.*`, `telemetry.sdk.*` and `session.id`
/// (OpenTelemetry semantic-convention names). See [`Batch::resource`](crate::Batch::resource).
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    attributes: Vec<(Cow<'static, str>, Value)>,
    session: u128,
}

impl Resource {
    /// A resource holding only `service.name` (what files from before resources were stored read as).
    pub fn from_service_name(name: impl Into<String>) -> Resource {
        Resource::from_attributes(vec![(Cow::Borrowed(SERVICE_NAME), Value::Str(Cow::Owned(name.into())))])
    }

    /// A resource with these attributes (a `session.id` among them, 32 hex digits, is its session id).
    pub fn from_attributes(attributes: Vec<(Cow<'static, str>, Value)>) -> Resource {
        let session = attributes
            .iter()
            .find(|(k, _)| k == SESSION_ID)
            .and_then(|(_, v)| match v {
                Value::Str(s) => u128::from_str_radix(s, 16).ok(),
                _ => None,
            })
            .unwrap_or(0);
        Resource { attributes, session }
    }

    /// Every attribute, each key once, `service.name` first.
    pub fn attributes(&self) -> &[(Cow<'static, str>, Value)] {
        &self.attributes
    }

    /// The attribute `key`, if set.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `service.name`.
    pub fn service_name(&self) -> &str {
        match self.get(SERVICE_NAME) {
            Some(Value::Str(s)) => s,
            _ => "unknown_service",
        }
    }

    /// The session id (`session.id`, 0 when there is none: a resource read from an old store file).
    pub fn session_id(&self) -> u128 {
        self.session
    }

    /// This resource with the `session.id` of session `id`.
    pub(crate) fn with_session(&self, id: u128) -> Resource {
        let mut r = self.clone();
        r.set(Cow::Borrowed(SESSION_ID), Value::Str(Cow::Owned(format!("{id:032x}"))));
        r.session = id;
        r
    }

    /// Sets `key`, replacing an earlier value in place.
    fn set(&mut self, key: Cow<'static, str>, value: Value) {
        match self.attributes.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.attributes.push((key, value)),
        }
    }
}

pub(crate) const SERVICE_NAME: &str = "service.name";
pub(crate) const SESSION_ID: &str = "session.id";

/// What the builder and the environment said about the resource, before `init` resolves it.
#[derive(Default)]
pub(crate) struct Sources {
    /// `OTEL_RESOURCE_ATTRIBUTES`, parsed.
    pub env_attributes: Vec<(String, String)>,
    /// The service name from `OTEL_SERVICE_NAME` or the builder (the builder's wins).
    pub service_name: Option<String>,
    /// `service.version`, `deployment.environment.name` and other attributes from the builder, in order.
    pub builder_attributes: Vec<(Cow<'static, str>, Value)>,
    /// Whether `process.command_line` is recorded.
    pub command_line: bool,
}

/// The resource the sources describe, without a session (the runtime adds `session.id`).
pub(crate) fn resolve(sources: Sources) -> Resource {
    let mut r = Resource { attributes: Vec::new(), session: 0 };
    r.set(Cow::Borrowed(SERVICE_NAME), Value::Str(Cow::Owned(default_service_name())));
    for (key, value) in detected(sources.command_line) {
        r.set(Cow::Borrowed(key), value);
    }
    for (key, value) in sources.env_attributes {
        r.set(Cow::Owned(key), Value::Str(Cow::Owned(value)));
    }
    if let Some(name) = sources.service_name {
        r.set(Cow::Borrowed(SERVICE_NAME), Value::Str(Cow::Owned(name)));
    }
    for (key, value) in sources.builder_attributes {
        r.set(key, value);
    }
    r
}

/// The executable's name (the OpenTelemetry SDKs say `unknown_service:<name>`; the bare name reads
/// better in a backend's service list), else `unknown_service`.
fn default_service_name() -> String {
    let exe = std::env::current_exe().ok().and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    match exe {
        Some(name) => name,
        None => "unknown_service".to_owned(),
    }
}

/// What telem finds out about the process and the machine by itself.
fn detected(command_line: bool) -> Vec<(&'static str, Value)> {
    let s = |v: String| Value::Str(Cow::Owned(v));
    let mut out = vec![
        ("telemetry.sdk.name", Value::from_static("telem")),
        ("telemetry.sdk.language", Value::from_static("rust")),
        ("telemetry.sdk.version", Value::from_static(env!("CARGO_PKG_VERSION"))),
        ("process.pid", Value::I64(std::process::id() as i64)),
        ("host.arch", Value::from_static(host_arch())),
        ("os.type", Value::from_static(os_type())),
    ];
    if let Some(host) = host_name() {
        out.push(("host.name", s(host)));
    }
    if let Some(version) = read_trimmed("/proc/sys/kernel/osrelease") {
        out.push(("os.version", s(version)));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(name) = exe.file_name() {
            out.push(("process.executable.name", s(name.to_string_lossy().into_owned())));
        }
        out.push(("process.executable.path", s(exe.to_string_lossy().into_owned())));
    }
    if command_line {
        let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
        out.push(("process.command_line", s(args.join(" "))));
    }
    out
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The host's name: the kernel's (Linux), else what the shell exports.
fn host_name() -> Option<String> {
    read_trimmed("/proc/sys/kernel/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty()))
}

/// `host.arch` as the semantic conventions spell it.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// `os.type` as the semantic conventions spell it.
fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" | "ios" => "darwin",
        other => other,
    }
}

/// Parses `OTEL_RESOURCE_ATTRIBUTES` as the OpenTelemetry specification says: `key=value` pairs
/// separated by commas, keys and values trimmed and percent-decoded (`,`, `=` and `%` inside them must
/// be percent-encoded), every value a string. Empty entries (a trailing comma) are skipped. On a
/// malformed pair the whole value is refused (the specification: discard it, report the error): the
/// pair and what is wrong with it.
pub(crate) fn parse_attributes(raw: &str) -> Result<Vec<(String, String)>, (String, &'static str)> {
    let mut out = Vec::new();
    for pair in raw.split(',') {
        if pair.trim().is_empty() {
            continue;
        }
        let bad = |why| Err((pair.trim().to_owned(), why));
        let Some((key, value)) = pair.split_once('=') else {
            return bad("has no `=` (a pair is key=value; percent-encode a `,` inside a value as %2C)");
        };
        let Some(key) = percent_decode(key.trim()) else {
            return bad("has a `%` that is not followed by two hex digits, or is not UTF-8 once decoded");
        };
        let Some(value) = percent_decode(value.trim()) else {
            return bad("has a `%` that is not followed by two hex digits, or is not UTF-8 once decoded");
        };
        if key.is_empty() {
            return bad("has an empty key");
        }
        out.push((key, value));
    }
    Ok(out)
}

/// Percent-decodes `s`; `None` when a `%` is not followed by two hex digits or the bytes are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_percent_decoded_and_trimmed() {
        let parsed = parse_attributes(" a = 1 ,team=pay%2Cments , b=x%3Dy%25, ,").unwrap();
        let want = [("a", "1"), ("team", "pay,ments"), ("b", "x=y%")];
        assert_eq!(parsed, want.map(|(k, v)| (k.to_owned(), v.to_owned())));
        assert_eq!(parse_attributes("").unwrap(), vec![]);
        assert_eq!(parse_attributes("k=").unwrap(), vec![("k".to_owned(), String::new())]);
    }

    #[test]
    fn names_the_malformed_pair() {
        assert_eq!(parse_attributes("a=1,broken").unwrap_err().0, "broken");
        assert_eq!(parse_attributes("a=1, =2").unwrap_err().0, "=2");
        assert_eq!(parse_attributes("a=%zz").unwrap_err().0, "a=%zz");
        assert_eq!(parse_attributes("a=%4").unwrap_err().0, "a=%4");
        assert_eq!(parse_attributes("a=%ff%fe").unwrap_err().0, "a=%ff%fe");
        assert!(parse_attributes("a=%C3%A9").is_ok());
    }

    #[test]
    fn later_sources_win_and_service_name_comes_first() {
        let r = resolve(Sources {
            env_attributes: vec![
                ("service.name".into(), "from-attrs".into()),
                ("host.name".into(), "h1".into()),
                ("team".into(), "a".into()),
            ],
            service_name: Some("from-env".into()),
            builder_attributes: vec![(Cow::Borrowed("team"), Value::from_static("b"))],
            command_line: false,
        });
        assert_eq!(r.service_name(), "from-env");
        assert_eq!(r.attributes()[0].0, "service.name");
        assert_eq!(r.get("host.name"), Some(&Value::from_static("h1")));
        assert_eq!(r.get("team"), Some(&Value::from_static("b")));
        assert_eq!(r.get("telemetry.sdk.name"), Some(&Value::from_static("telem")));
        assert_eq!(r.get("process.pid"), Some(&Value::I64(std::process::id() as i64)));
        assert!(r.get("process.command_line").is_none());
        let s = r.with_session(0xab);
        assert_eq!(s.session_id(), 0xab);
        assert_eq!(s.get("session.id"), Some(&Value::from_static("000000000000000000000000000000ab")));
        assert_eq!(Resource::from_attributes(s.attributes().to_vec()), s);
    }
}
