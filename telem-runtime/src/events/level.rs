//! Severity levels of events (and, later, of spans), with their OpenTelemetry severity numbers.

use std::fmt;

/// How severe an event is. Ordered: `Trace < Debug < Info < Warn < Error < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Fine-grained diagnostics.
    Trace = 1,
    /// Diagnostics for developers.
    Debug = 2,
    /// Normal operation worth knowing about.
    Info = 3,
    /// Something unexpected that the program handled.
    Warn = 4,
    /// A failure of one operation.
    Error = 5,
    /// A failure of the program (OpenTelemetry's `FATAL`).
    Critical = 6,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 6] = [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Critical];

    /// The uppercase name: `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The OpenTelemetry log data model's `SeverityNumber` (the first of each range: 1, 5, 9, 13, 17, 21).
    pub fn severity_number(self) -> u8 {
        (self as u8 - 1) * 4 + 1
    }

    /// The OpenTelemetry `SeverityText` (`FATAL` for [`Level::Critical`]).
    pub fn severity_text(self) -> &'static str {
        match self {
            Level::Critical => "FATAL",
            other => other.as_str(),
        }
    }

    /// Parses a level name, case-insensitively: `trace`, `debug`, `info`, `warn` (or `warning`),
    /// `error`, `critical` (or `fatal`).
    pub fn parse(name: &str) -> Option<Level> {
        let name = name.trim();
        let is = |s: &str| name.eq_ignore_ascii_case(s);
        Some(if is("trace") {
            Level::Trace
        } else if is("debug") {
            Level::Debug
        } else if is("info") {
            Level::Info
        } else if is("warn") || is("warning") {
            Level::Warn
        } else if is("error") {
            Level::Error
        } else if is("critical") || is("fatal") {
            Level::Critical
        } else {
            return None;
        })
    }

    /// The level of a number `Level as u8` gave (the store's call-site table keeps levels so).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn from_u8(n: u8) -> Option<Level> {
        Level::ALL.get((n as usize).wrapping_sub(1)).copied()
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn severity_numbers_follow_the_log_data_model() {
        let numbers: Vec<u8> = Level::ALL.iter().map(|l| l.severity_number()).collect();
        assert_eq!(numbers, [1, 5, 9, 13, 17, 21]);
        for level in Level::ALL {
            assert_eq!(Level::from_u8(level as u8), Some(level));
            assert_eq!(Level::parse(&level.as_str().to_lowercase()), Some(level));
        }
        assert_eq!(Level::from_u8(0), None);
        assert_eq!(Level::parse("loud"), None);
    }
}
