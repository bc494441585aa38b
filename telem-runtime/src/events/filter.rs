//! The minimum level: `TELEM_LEVEL` / `Builder::level` directives in the `RUST_LOG` style
//! (`warn,my_crate::db=debug`), resolved once per call site and cached there.
//!
//! Each call site holds a [`LevelCache`]: one `AtomicU32`, 0 until resolved, then its verdict (the
//! lowest level it records). The hot path is one relaxed load and one compare; a later `init`'s
//! filter resets every resolved call site (they are listed as they resolve).

use crate::events::level::Level;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// A parsed set of level directives. `Filter::default()` records `info` and above everywhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The level for targets no directive names (`None`: off).
    default: Option<Level>,
    /// `(target, level)`, in the order given; the longest matching target wins, then the later.
    targets: Vec<(String, Option<Level>)>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { default: Some(Level::Info), targets: Vec::new() }
    }
}

/// Why a directive could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    directive: String,
    reason: String,
}

impl FilterError {
    /// The directive at fault, as written.
    pub fn directive(&self) -> &str {
        &self.directive
    }
    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in directive `{}`", self.reason, self.directive)
    }
}

impl std::error::Error for FilterError {}

const LEVELS: &str = "trace, debug, info, warn, error, critical or off";

fn level(name: &str, directive: &str) -> Result<Option<Level>, FilterError> {
    if name.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    Level::parse(name).map(Some).ok_or_else(|| FilterError {
        directive: directive.to_owned(),
        reason: format!("unknown level `{name}` (expected {LEVELS})"),
    })
}

impl Filter {
    /// Parses comma-separated directives: `level` (the default for every target) or `target=level`
    /// (a bare word must be a level, so that a typo is an error rather than a target); `off` turns a target (or everything) off. Targets are module paths, matched by
    /// whole `::` segments (`-` and `_` are the same); the longest match wins, then the later one.
    pub fn parse(directives: &str) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        for raw in directives.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                continue;
            }
            let err = |reason: String| FilterError { directive: item.to_owned(), reason };
            if item.contains(['[', ']', '{', '}', '/']) {
                return Err(err("span filters and regular expressions are not supported".to_owned()));
            }
            let (target, lvl) = match item.split_once('=') {
                Some((target, lvl)) => (target.trim(), level(lvl.trim(), item)?),
                // A bare word is a level: a typo must not silently become a target.
                None => match level(item, item) {
                    Ok(lvl) => {
                        filter.default = lvl;
                        continue;
                    }
                    Err(e) => {
                        return Err(err(format!("{} — to name a target, write `{item}=trace`", e.reason)));
                    }
                },
            };
            if target.is_empty() {
                return Err(err("empty target".to_owned()));
            }
            let valid = target
                .split("::")
                .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            if !valid {
                return Err(err(format!("invalid target `{target}` (expected a module path such as `my_crate::db`)")));
            }
            filter.targets.push((target.replace('-', "_"), lvl));
        }
        Ok(filter)
    }

    /// The lowest level recorded for `target` (`None`: nothing).
    pub fn level_for(&self, target: &str) -> Option<Level> {
        let mut best: Option<(usize, Option<Level>)> = None;
        for (t, lvl) in &self.targets {
            if matches(t, target) && best.is_none_or(|(len, _)| t.len() >= len) {
                best = Some((t.len(), *lvl));
            }
        }
        best.map_or(self.default, |(_, lvl)| lvl)
    }

    /// Whether an event of `level` at `target` is recorded.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.level_for(target).is_some_and(|min| level >= min)
    }

    /// The most verbose level any directive records (`None`: nothing is recorded).
    pub fn max_level(&self) -> Option<Level> {
        self.targets.iter().map(|(_, l)| *l).chain([self.default]).flatten().min()
    }
}

/// Whether `target` is `prefix` or inside it, by whole segments.
fn matches(prefix: &str, target: &str) -> bool {
    let target = target.as_bytes();
    let prefix = prefix.as_bytes();
    if target.len() < prefix.len() {
        return false;
    }
    let same = prefix.iter().zip(target).all(|(&p, &t)| p == t || (p == b'_' && t == b'-'));
    same && (target.len() == prefix.len() || target[prefix.len()..].starts_with(b"::"))
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |l: Option<Level>| l.map_or("off".to_owned(), |l| l.as_str().to_ascii_lowercase());
        write!(f, "{}", name(self.default))?;
        for (t, l) in &self.targets {
            write!(f, ",{t}={}", name(*l))?;
        }
        Ok(())
    }
}

/// The installed filter, and every call site that has resolved its verdict under it: `install`
/// resets those, so the next call resolves again. One lock for both, so that a verdict resolved
/// under an old filter can never be stored after the new one reset it.
static FILTER: Mutex<Installed> = Mutex::new(Installed { filter: None, resolved: Vec::new() });

struct Installed {
    filter: Option<Filter>,
    resolved: Vec<&'static LevelCache>,
}

/// Verdict bit: resolved (a word of 0 is "not yet").
const RESOLVED: u32 = 0x100;
/// Verdict: nothing is recorded.
const NONE: u32 = 0xff;

/// Makes `filter` the one every call site consults (at `init`).
pub(crate) fn install(filter: Filter) {
    let mut installed = FILTER.lock().unwrap_or_else(|e| e.into_inner());
    installed.filter = Some(filter);
    for cache in installed.resolved.drain(..) {
        cache.0.store(0, Ordering::Relaxed);
    }
}

/// A call site's cached verdict: 0 until resolved, then [`RESOLVED`] | the lowest level recorded
/// (or [`NONE`]). The common path is one relaxed load and a compare with the call site's constant
/// level; resolving (the filter's lock, a walk of its directives) happens once per call site and
/// installed filter.
#[derive(Debug)]
pub struct LevelCache(AtomicU32);

impl LevelCache {
    /// Unresolved.
    pub const fn new() -> Self {
        LevelCache(AtomicU32::new(0))
    }

    /// Whether `level` at `target` passes the installed filter. The target is asked for only when
    /// the verdict must be resolved, so the common path loads nothing else.
    #[inline(always)]
    pub fn enabled(&'static self, level: Level, target: impl FnOnce() -> &'static str) -> bool {
        let word = self.0.load(Ordering::Relaxed);
        if word != 0 {
            return (level as u32) >= (word & 0xff);
        }
        self.resolve(target(), level)
    }

    #[cold]
    #[inline(never)]
    fn resolve(&'static self, target: &str, level: Level) -> bool {
        let mut installed = FILTER.lock().unwrap_or_else(|e| e.into_inner());
        let min = match installed.filter.as_ref() {
            Some(filter) => filter.level_for(target),
            None => Filter::default().level_for(target),
        };
        if self.0.swap(RESOLVED | min.map_or(NONE, |l| l as u32), Ordering::Relaxed) == 0 {
            installed.resolved.push(self);
        }
        min.is_some_and(|min| level >= min)
    }
}

impl Default for LevelCache {
    fn default() -> Self {
        LevelCache::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_parse_and_match_by_segment() {
        let f = Filter::parse(" warn , my_crate::db=debug, other=off,noisy-crate=error,,").unwrap();
        assert_eq!(f.level_for("anything"), Some(Level::Warn));
        assert_eq!(f.level_for("my_crate::db"), Some(Level::Debug));
        assert_eq!(f.level_for("my_crate::db::pool"), Some(Level::Debug));
        assert_eq!(f.level_for("my_crate::dbx"), Some(Level::Warn));
        assert_eq!(f.level_for("other::x"), None);
        assert_eq!(f.level_for("noisy_crate"), Some(Level::Error));
        assert_eq!(f.max_level(), Some(Level::Debug));
        assert!(f.enabled("my_crate::db", Level::Info) && !f.enabled("x", Level::Info));
        assert_eq!(f.to_string(), "warn,my_crate::db=debug,other=off,noisy_crate=error");
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
    }

    #[test]
    fn longest_target_wins_then_the_later() {
        let f = Filter::parse("a=error,a::b=trace,a=warn").unwrap();
        assert_eq!(f.level_for("a::b::c"), Some(Level::Trace));
        assert_eq!(f.level_for("a::x"), Some(Level::Warn));
        assert!(Filter::parse("my_crate").unwrap_err().reason().contains("my_crate=trace"));
        assert_eq!(Filter::parse("").unwrap(), Filter::default());
        assert_eq!(Filter::parse("off").unwrap().max_level(), None);
    }

    #[test]
    fn bad_directives_name_themselves() {
        assert_eq!(Filter::parse("loud").unwrap_err().directive(), "loud");
        let e = Filter::parse("info,a=loud").unwrap_err();
        assert_eq!(e.directive(), "a=loud");
        assert!(e.to_string().contains("unknown level `loud`"), "{e}");
        assert_eq!(Filter::parse("=debug").unwrap_err().reason(), "empty target");
        assert!(Filter::parse("a b=info").unwrap_err().reason().contains("invalid target"));
        assert!(Filter::parse("x[span]=debug").unwrap_err().reason().contains("not supported"));
        assert!(Filter::parse("a:::b").is_err());
    }

    #[test]
    fn caches_resolve_again_after_an_install() {
        static SITE: LevelCache = LevelCache::new();
        install(Filter::parse("warn").unwrap());
        let m = || "m";
        assert!(!SITE.enabled(Level::Info, m));
        assert!(SITE.enabled(Level::Error, || unreachable!("cached")), "cached");
        install(Filter::parse("m=debug").unwrap());
        assert!(SITE.enabled(Level::Debug, m));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| assert!(SITE.enabled(Level::Info, m) && !SITE.enabled(Level::Trace, m)));
            }
        });
        install(Filter::default());
    }
}
