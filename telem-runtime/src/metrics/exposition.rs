//! The Prometheus text format 0.0.4 and OpenMetrics 1.0, from the registry as it is now.
//!
//! Names follow the OpenTelemetry-to-Prometheus rules: characters outside `[a-zA-Z0-9_:]` become
//! `_`, the unit is appended as a word (`s` → `_seconds`, `By` → `_bytes`, …) unless the name ends with
//! it already, counters get `_total`. Up-down counters and gauges are gauges; histograms are
//! `_bucket{le=…}` (cumulative), `_sum` and `_count`. Only OpenMetrics carries exemplars: the trace and
//! span id of the last update made inside a sampled span, per counter series and per bucket.

use super::cell::ExemplarData;
use super::family::{families, Cell, Family, Kind, Series};
use std::fmt::Write as _;

/// Which exposition format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`: what every Prometheus scrapes.
    Text,
    /// `application/openmetrics-text; version=1.0.0`: with `# UNIT`, exemplars and `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format a scraper asks for in its `Accept` header: OpenMetrics when it lists
    /// `application/openmetrics-text`, else the text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.to_ascii_lowercase().contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }
}

/// Every metric in the text format 0.0.4 (what `GET /metrics` returns to a plain scraper).
pub fn render() -> String {
    render_as(Format::Text)
}

/// Every metric in the given format.
pub fn render_as(format: Format) -> String {
    let converter = crate::clock::process_converter();
    let mut families: Vec<(String, &'static Family)> = families().into_iter().map(|f| (base_name(f), f)).collect();
    families.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(4096);
    for (base, family) in &families {
        let series = family.all();
        write_family(&mut out, format, base, family, &series, &converter);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn write_family(
    out: &mut String,
    format: Format,
    base: &str,
    family: &Family,
    series: &[&'static Series],
    converter: &crate::clock::Converter,
) {
    let (type_name, prom_type) = match family.kind {
        Kind::Counter if format == Format::Text => (format!("{base}_total"), "counter"),
        Kind::Counter => (base.to_owned(), "counter"),
        Kind::UpDownCounter | Kind::Gauge => (base.to_owned(), "gauge"),
        Kind::Histogram => (base.to_owned(), "histogram"),
    };
    let help = if family.description.is_empty() { family.name } else { family.description };
    let _ = writeln!(out, "# HELP {type_name} {}", escape_help(help, format));
    let _ = writeln!(out, "# TYPE {type_name} {prom_type}");
    if format == Format::OpenMetrics {
        if let Some(unit) = prom_unit(family.unit) {
            let _ = writeln!(out, "# UNIT {type_name} {unit}");
        }
    }
    let exemplar = |out: &mut String, e: Option<ExemplarData>| {
        if let (Format::OpenMetrics, Some(e)) = (format, e) {
            let secs = converter.unix_ns(e.tick) as f64 / 1e9;
            let _ = write!(
                out,
                " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} {} {secs:.3}",
                e.trace_id,
                e.span_id,
                number(e.value)
            );
        }
    };
    for s in series {
        let labels = labels(s, None);
        match s.cell {
            Cell::Counter(c) => {
                let _ = write!(out, "{base}_total{labels} {}", c.get());
                exemplar(out, c.exemplar());
                out.push('\n');
            }
            Cell::UpDown(c) => {
                let _ = writeln!(out, "{base}{labels} {}", c.get());
            }
            Cell::Gauge(c) => {
                let _ = writeln!(out, "{base}{labels} {}", number(c.get()));
            }
            Cell::Histogram(h) => {
                let snap = h.snapshot();
                let mut cumulative = 0;
                for (i, count) in snap.counts.iter().enumerate() {
                    cumulative += count;
                    let le = snap.bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| number(*b));
                    let _ = write!(out, "{base}_bucket{} {cumulative}", self::labels(s, Some(&le)));
                    exemplar(out, h.exemplar(i));
                    out.push('\n');
                }
                let _ = writeln!(out, "{base}_sum{labels} {}", number(snap.sum));
                let _ = writeln!(out, "{base}_count{labels} {}", snap.count);
            }
        }
    }
}

/// `{k="v",…}` (nothing when there are no labels), `le` last for buckets.
fn labels(series: &Series, le: Option<&str>) -> String {
    if series.labels.is_empty() && le.is_none() {
        return String::new();
    }
    let mut out = String::from("{");
    for (i, (k, v)) in series.labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}=\"{}\"", label_name(k), escape_value(v));
    }
    if let Some(le) = le {
        if !series.labels.is_empty() {
            out.push(',');
        }
        let _ = write!(out, "le=\"{le}\"");
    }
    out.push('}');
    out
}

/// The family's Prometheus name without the `_total` of counters: sanitised, with its unit's suffix.
pub(crate) fn base_name(family: &Family) -> String {
    let mut name = sanitize(family.name, true);
    if family.kind == Kind::Counter {
        if let Some(stripped) = name.strip_suffix("_total") {
            name = stripped.to_owned();
        }
    }
    if let Some(unit) = prom_unit(family.unit) {
        if !name.ends_with(&format!("_{unit}")) {
            name.push('_');
            name.push_str(&unit);
        }
    }
    name
}

/// Characters outside `[a-zA-Z0-9_]` (and `:` in metric names) become `_`; a leading digit gets `_`.
fn sanitize(name: &str, metric: bool) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') { c } else { '_' })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

pub(crate) fn label_name(key: &str) -> String {
    sanitize(key, false)
}

/// The Prometheus word for a UCUM unit as OpenTelemetry writes them (`None`: no suffix).
pub(crate) fn prom_unit(unit: &str) -> Option<String> {
    // Annotations in braces (`{request}`) carry no unit.
    let unit: String = {
        let mut out = String::new();
        let mut depth = 0;
        for c in unit.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    };
    let word = |u: &str| -> String {
        match u {
            "d" => "days",
            "h" => "hours",
            "min" => "minutes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "GiBy" => "gibibytes",
            "TiBy" => "tibibytes",
            "KBy" => "kilobytes",
            "MBy" => "megabytes",
            "GBy" => "gigabytes",
            "TBy" => "terabytes",
            "m" => "meters",
            "V" => "volts",
            "A" => "amperes",
            "J" => "joules",
            "W" => "watts",
            "g" => "grams",
            "Cel" => "celsius",
            "Hz" => "hertz",
            "%" => "percent",
            "1" => "ratio",
            other => return sanitize(other, false).trim_matches('_').to_owned(),
        }
        .to_owned()
    };
    let unit = unit.trim();
    if unit.is_empty() {
        return None;
    }
    let text = match unit.split_once('/') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => format!("{}_per_{}", word(a), per_word(b, word)),
        _ => word(unit),
    };
    (!text.is_empty()).then_some(text)
}

fn per_word(u: &str, word: impl Fn(&str) -> String) -> String {
    match u {
        "s" => "second".into(),
        "m" => "minute".into(),
        "h" => "hour".into(),
        "d" => "day".into(),
        other => word(other),
    }
}

/// A float as Prometheus reads it: `+Inf`, `-Inf`, `NaN`, integers without a fraction.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(v: &str, format: Format) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == Format::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_become_suffixes() {
        assert_eq!(prom_unit("s").as_deref(), Some("seconds"));
        assert_eq!(prom_unit("By").as_deref(), Some("bytes"));
        assert_eq!(prom_unit("{request}"), None);
        assert_eq!(prom_unit("By/s").as_deref(), Some("bytes_per_second"));
        assert_eq!(prom_unit("").as_deref(), None);
        assert_eq!(sanitize("http.server.duration", true), "http_server_duration");
        assert_eq!(sanitize("9lives", true), "_9lives");
        assert_eq!(escape_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(0.005), "0.005");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
