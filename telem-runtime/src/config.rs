//! Configuration: a builder, with the environment read underneath it (a value set in the builder wins).

use crate::events::filter::Filter;
use crate::export::Exporter;
use crate::resource::{self, Resource};
use crate::trace::sampler::Sampler;
use crate::trace::value::Value;
use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Spans a thread's ring holds at most unless configured: 4 MiB of records, taken in segments of up to 64 KiB
/// only as far as the collector lags. At 35 M spans/s from one thread that covers the 2–4 ms a
/// collector can wait for a CPU on a busy 2-vCPU machine; in steady state a thread cycles through
/// far fewer segments (about what it records between two collector passes).
pub const DEFAULT_RING_CAPACITY: usize = 64 * 1024;
/// How often the collector hands batches to exporters when nothing else wakes it.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// The most spans in one `Exporter::export` call.
pub const DEFAULT_BATCH_SIZE: usize = 4096;
/// The most spans waiting for one exporter before further batches are dropped (and counted) for it:
/// 64 MiB of records at most, held only while an exporter lags. With recording threads handing their
/// full rings over themselves, this queue is what absorbs an exporter (or the whole machine) stalling:
/// a million spans is a 30 ms stall of a thread recording 30 M spans/s.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1 << 20;
/// How long the guard returned by `init` waits for the exporters to drain when it drops.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the fatal path waits for the drain by default.
pub const DEFAULT_FATAL_TIMEOUT: Duration = Duration::from_secs(5);

/// How the console exporter prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleMode {
    /// No output.
    Off,
    /// One readable line per span.
    Text,
    /// One JSON object per span: the line of the local store's format v1 (`telem::store` reads it).
    Json,
}

/// A configuration value telem cannot use, from the environment or from the [`Builder`]. Both are
/// checked by the same rules, with the same messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the value came from: an environment variable (`TELEM_RING_CAPACITY`) or a builder
    /// method (`Builder::ring_capacity`).
    pub setting: &'static str,
    /// The value, as given.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
    /// What is wrong, when the value is a list and one part of it is at fault (the pair of
    /// `OTEL_RESOURCE_ATTRIBUTES` that has no `=`).
    pub problem: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, value: impl Into<String>, expected: &'static str) -> ConfigError {
        ConfigError { setting, value: value.into(), expected, problem: None }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.setting.starts_with("Builder::") {
            write!(f, "{}({}) is invalid", self.setting, self.value)?;
        } else {
            write!(f, "environment variable {}={:?} is invalid", self.setting, self.value)?;
        }
        if let Some(problem) = &self.problem {
            write!(f, " ({problem})")?;
        }
        write!(f, ": expected {}", self.expected)
    }
}

/// Why `try_init` did not start telem.
#[derive(Debug)]
pub enum InitError {
    /// Settings (environment variables or builder values) telem cannot use: all of them, not only
    /// the first.
    Invalid(Vec<ConfigError>),
    /// telem is already running in this process.
    AlreadyRunning,
    /// An exporter could not be built.
    Exporter {
        /// The exporter's registered name.
        name: String,
        /// What went wrong.
        error: crate::export::ExportError,
    },
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::Invalid(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
            InitError::AlreadyRunning => {
                f.write_str("telem is already running in this process (or another thread is still shutting it down)")
            }
            InitError::Exporter { name, error } => write!(f, "exporter `{name}` could not start: {error}"),
        }
    }
}

impl std::error::Error for InitError {}

/// The resolved configuration, as exporters' build functions see it.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) enabled: bool,
    pub(crate) resource: Resource,
    pub(crate) flush_interval: Duration,
    pub(crate) ring_capacity: usize,
    pub(crate) batch_size: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) fatal_timeout: Duration,
    pub(crate) level: Filter,
    pub(crate) console: ConsoleMode,
    pub(crate) store: bool,
    pub(crate) store_dir: PathBuf,
    pub(crate) switches: Vec<(String, bool)>,
    pub(crate) sampler: Sampler,
    pub(crate) keep_errors: bool,
    pub(crate) keep_errors_traces: usize,
    pub(crate) cardinality_limit: usize,
    pub(crate) metric_limits: Vec<(String, usize)>,
    pub(crate) prometheus_addr: std::net::SocketAddr,
    /// Whether the address was asked for (builder or `TELEM_PROMETHEUS_ADDR`): then failing to bind it
    /// fails `try_init`; the default address taken (another process serves it) is only reported.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) prometheus_addr_set: bool,
}

impl Config {
    /// The head sampler deciding at each trace root.
    pub fn sampler(&self) -> Sampler {
        self.sampler
    }
    /// Whether the keep-errors tail rule is on.
    pub fn keep_errors(&self) -> bool {
        self.keep_errors
    }
    /// The minimum level of events.
    pub fn level(&self) -> &Filter {
        &self.level
    }
    /// Whether recording is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// The service name (`service.name` of the resource).
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }
    /// The resource every batch of the session carries (without its `session.id`, which each session
    /// adds: see [`Batch::resource`](crate::Batch::resource)).
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
    /// The console exporter's mode.
    pub fn console(&self) -> ConsoleMode {
        self.console
    }
    /// Whether the local store is on.
    pub fn store(&self) -> bool {
        self.store
    }
    /// Where the local store writes.
    pub fn store_dir(&self) -> &std::path::Path {
        &self.store_dir
    }
    /// The most series a metric keeps (overflow series included).
    pub fn cardinality_limit(&self) -> usize {
        self.cardinality_limit
    }
    /// Where the Prometheus endpoint listens (feature `prometheus`).
    pub fn prometheus_addr(&self) -> std::net::SocketAddr {
        self.prometheus_addr
    }
    /// Slots per thread ring.
    pub fn ring_capacity(&self) -> usize {
        self.ring_capacity
    }
    /// Whether the exporter registered as `name` is switched on or off explicitly (`None`: not said,
    /// the exporter decides; registered user exporters are on).
    pub fn exporter_switch(&self, name: &str) -> Option<bool> {
        self.switches.iter().rev().find(|(n, _)| n == name).map(|&(_, on)| on)
    }
}

/// Configures telem before it starts. Every setting left unset comes from the environment, then from
/// the defaults.
///
/// ```no_run
/// let _telem = telem::Builder::new()
///     .service_name("checkout")
///     .flush_interval(std::time::Duration::from_secs(1))
///     .exporter("console", false)
///     .init();
/// ```
#[derive(Default)]
#[must_use = "call .init() or .try_init()"]
pub struct Builder {
    enabled: Option<bool>,
    service_name: Option<String>,
    resource: Vec<(Cow<'static, str>, Value)>,
    command_line: bool,
    flush_interval: Option<Duration>,
    ring_capacity: Option<usize>,
    batch_size: Option<usize>,
    queue_capacity: Option<usize>,
    shutdown_timeout: Option<Duration>,
    fatal_timeout: Option<Duration>,
    level: Option<String>,
    console: Option<ConsoleMode>,
    store_dir: Option<PathBuf>,
    switches: Vec<(String, bool)>,
    sampler: Option<Sampler>,
    keep_errors: Option<usize>,
    cardinality_limit: Option<usize>,
    metric_limits: Vec<(String, usize)>,
    prometheus_addr: Option<String>,
    pub(crate) instances: Vec<(String, Box<dyn Exporter>)>,
}

impl Builder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records or not, whatever `TELEM_ENABLED` / `OTEL_SDK_DISABLED` say.
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = Some(on);
        self
    }
    /// The service name (else `OTEL_SERVICE_NAME`, else the executable's name).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }
    /// `service.version` of the resource (else a `service.version` in `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn service_version(self, version: impl Into<String>) -> Self {
        self.resource_attribute("service.version", version.into())
    }
    /// `deployment.environment.name` of the resource: `production`, `staging` … (else the one in
    /// `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn environment(self, name: impl Into<String>) -> Self {
        self.resource_attribute("deployment.environment.name", name.into())
    }
    /// Sets an attribute of the resource, winning over `OTEL_RESOURCE_ATTRIBUTES` and what telem detects
    /// (`host.name`, `process.*` …). The key must not be empty; `service.name` is set by
    /// [`service_name`](Self::service_name), `session.id` by telem.
    pub fn resource_attribute(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }
    /// Records the command line as `process.command_line` in the resource (off by default: arguments
    /// may hold secrets).
    pub fn record_command_line(mut self, on: bool) -> Self {
        self.command_line = on;
        self
    }
    /// How often batches go to exporters when nothing else wakes the collector (default 5 s; at
    /// least 1 ms; `Duration::MAX` for never).
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.flush_interval = Some(every);
        self
    }
    /// Spans each thread's ring holds at most, rounded up to a power of two (default 65 536; 2 to
    /// 2^30; memory is taken in segments of up to 1024 spans only as the ring fills).
    pub fn ring_capacity(mut self, slots: usize) -> Self {
        self.ring_capacity = Some(slots);
        self
    }
    /// The most spans per `export` call (default 4096; at least 1, at most the queue capacity).
    pub fn batch_size(mut self, spans: usize) -> Self {
        self.batch_size = Some(spans);
        self
    }
    /// The most spans queued for one exporter before batches are dropped for it (default 1 048 576; 1 to
    /// 2^32; a batch size set in the builder must not exceed it).
    pub fn queue_capacity(mut self, spans: usize) -> Self {
        self.queue_capacity = Some(spans);
        self
    }
    /// How long the `init` guard waits for exporters to drain when dropped (default 5 s;
    /// `Duration::MAX` waits without limit).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }
    /// The minimum level of events, as directives: `"warn"`, `"info,my_crate::db=debug"` (else
    /// `TELEM_LEVEL`, else `info`). See [`Filter::parse`].
    pub fn level(mut self, directives: impl Into<String>) -> Self {
        self.level = Some(directives.into());
        self
    }
    /// How long a panic that ends the process (`panic = "abort"`, or the main thread's) waits for
    /// what was recorded to be drained before it goes on (default 5 s).
    pub fn fatal_timeout(mut self, timeout: Duration) -> Self {
        self.fatal_timeout = Some(timeout);
        self
    }
    /// The console exporter's mode (else `TELEM_CONSOLE`).
    pub fn console(mut self, mode: ConsoleMode) -> Self {
        self.console = Some(mode);
        self
    }
    /// Where the local store writes (else `TELEM_STORE_DIR`, else `.telem` in the working directory).
    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store_dir = Some(dir.into());
        self
    }
    /// Switches a registered exporter (built-in or user) on or off by name. Like every builder value it
    /// wins over the environment: `exporter("store", true)` writes the store under `TELEM_STORE=0`.
    pub fn exporter(mut self, name: impl Into<String>, on: bool) -> Self {
        self.switches.push((name.into(), on));
        self
    }
    /// The head sampler (else `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, else
    /// [`Sampler::ParentBasedAlwaysOn`]). Decided once per trace root, from the trace id, and carried
    /// to every span under it and to the next process in the `traceparent` sampled flag.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }
    /// The keep-errors tail rule (else `TELEM_KEEP_ERRORS`, a number of traces or `0`/`off`): a trace
    /// the sampler dropped is still exported whole when one of its spans ends in error. Unsampled
    /// spans are then recorded, and the collector holds those of at most `traces` undecided traces
    /// (and [`KEEP_ERRORS_SPANS_PER_TRACE`] times as many spans); past that the oldest trace's spans are
    /// counted as dropped. `0` turns the rule off (the default).
    pub fn keep_errors(mut self, traces: usize) -> Self {
        self.keep_errors = Some(traces);
        self
    }
    /// The most series any metric keeps (default 2000, `TELEM_METRICS_CARDINALITY_LIMIT`), the overflow
    /// series included: updates with new label values past it go to the series labelled
    /// `otel.metric.overflow="true"` and are counted in [`Stats::metrics`](crate::Stats::metrics).
    pub fn cardinality_limit(mut self, series: usize) -> Self {
        self.cardinality_limit = Some(series);
        self
    }

    /// The most series the metric `name` keeps, instead of [`cardinality_limit`](Self::cardinality_limit).
    pub fn metric_cardinality_limit(mut self, name: impl Into<String>, series: usize) -> Self {
        self.metric_limits.push((name.into(), series));
        self
    }

    /// Where the Prometheus endpoint listens (feature `prometheus`; `TELEM_PROMETHEUS_ADDR`, default
    /// `127.0.0.1:9464`): an `ip:port`, port 0 for any free port ([`metrics::endpoint`](crate::metrics::endpoint)
    /// says which). Switch the endpoint off with `exporter("prometheus", false)`.
    pub fn prometheus_addr(mut self, addr: impl Into<String>) -> Self {
        self.prometheus_addr = Some(addr.into());
        self
    }

    /// Adds an exporter instance directly, without registering it.
    pub fn with_exporter(mut self, name: impl Into<String>, exporter: impl Exporter) -> Self {
        self.instances.push((name.into(), Box::new(exporter)));
        self
    }

    /// Starts telem; any problem is reported once on stderr, and telem goes on without the part that
    /// failed (an invalid environment variable falls back to its default).
    pub fn init(self) -> crate::Telem {
        crate::lifecycle::init_with(self)
    }

    /// Starts telem, or says why not.
    pub fn try_init(self) -> Result<crate::Telem, InitError> {
        crate::lifecycle::try_init_with(self)
    }

    /// Resolves the configuration: each setting from the builder, else the environment, else the
    /// default. Every value is checked by one rule per setting, whichever source it came from; the
    /// errors name each invalid one, and the returned config uses the default in its place. An empty
    /// environment variable counts as unset (the OpenTelemetry rule).
    pub(crate) fn resolve(&mut self, env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<ConfigError>) {
        let mut errors = Vec::new();
        let env_attributes = env("OTEL_RESOURCE_ATTRIBUTES").map_or_else(Vec::new, |raw| {
            resource::parse_attributes(&raw).unwrap_or_else(|(pair, why)| {
                errors.push(ConfigError {
                    problem: Some(format!("the pair {pair:?} {why}")),
                    ..ConfigError::new("OTEL_RESOURCE_ATTRIBUTES", raw.clone(), RESOURCE_ATTRIBUTES)
                });
                Vec::new()
            })
        });
        let mut read = |var: &'static str, expected: &'static str, parse: &dyn Fn(&str) -> Option<Setting>| {
            let raw = env(var).filter(|v| !v.trim().is_empty())?;
            let parsed = parse(raw.trim());
            if parsed.is_none() {
                errors.push(ConfigError::new(var, raw, expected));
            }
            parsed
        };
        const BOOL: &str = "one of 1, true, yes, on, 0, false, no, off";
        let telem_enabled = read("TELEM_ENABLED", BOOL, &|v| parse_bool(v).map(Setting::Bool));
        let sdk_disabled = read("OTEL_SDK_DISABLED", "true or false", &|v| match v.to_ascii_lowercase().as_str() {
            "true" => Some(Setting::Bool(true)),
            "false" => Some(Setting::Bool(false)),
            _ => None,
        });
        let service = read("OTEL_SERVICE_NAME", "a name", &|v| Some(Setting::Str(v.into())));
        let store_dir = read("TELEM_STORE_DIR", "a directory path", &|v| Some(Setting::Str(v.into())));
        let store = read("TELEM_STORE", BOOL, &|v| parse_bool(v).map(Setting::Bool));
        let console = read("TELEM_CONSOLE", "one of off, 0, false, no, text, on, 1, true, yes, json", &|v| match v
            .to_ascii_lowercase()
            .as_str()
        {
            "json" => Some(Setting::Console(ConsoleMode::Json)),
            "text" => Some(Setting::Console(ConsoleMode::Text)),
            other => {
                parse_bool(other).map(|on| Setting::Console(if on { ConsoleMode::Text } else { ConsoleMode::Off }))
            }
        });
        let interval = read("TELEM_FLUSH_INTERVAL_MS", FLUSH_INTERVAL, &|v| {
            v.parse::<u64>().ok().map(|ms| Setting::Duration(Duration::from_millis(ms)))
        });
        let ring = read("TELEM_RING_CAPACITY", RING_CAPACITY, &|v| v.parse::<usize>().ok().map(Setting::Num));
        let keep = read("TELEM_KEEP_ERRORS", KEEP_ERRORS, &|v| match parse_bool(v) {
            Some(false) => Some(Setting::Num(0)),
            Some(true) => Some(Setting::Num(DEFAULT_KEEP_ERRORS_TRACES)),
            None => v.parse::<usize>().ok().map(Setting::Num),
        });
        let env_limit =
            read("TELEM_METRICS_CARDINALITY_LIMIT", CARDINALITY, &|v| v.parse::<usize>().ok().map(Setting::Num));
        let env_prometheus = read("TELEM_PROMETHEUS_ADDR", PROMETHEUS_ADDR, &|v| {
            v.parse::<std::net::SocketAddr>().ok().map(|_| Setting::Str(v.into()))
        });
        let env_level = read("TELEM_LEVEL", LEVEL, &|v| Filter::parse(v).ok().map(|_| Setting::Str(v.into())));
        let level = match self.level.take() {
            Some(directives) => Filter::parse(&directives)
                .map_err(|_| errors.push(ConfigError::new("Builder::level", directives.clone(), LEVEL))),
            None => Ok(env_level.map(|v| Filter::parse(&v.string()).unwrap_or_default()).unwrap_or_default()),
        }
        .unwrap_or_default();
        let env_sampler = env("OTEL_TRACES_SAMPLER").filter(|v| !v.trim().is_empty()).and_then(|name| {
            let arg = env("OTEL_TRACES_SAMPLER_ARG").filter(|v| !v.trim().is_empty());
            Sampler::parse(&name, arg.as_deref()).map_err(|e| errors.push(e)).ok()
        });

        // The same rule for a value from either source; an invalid one is reported and replaced by the
        // default.
        let mut check =
            |builder: Option<(&'static str, Setting)>, env: Option<(&'static str, Setting)>, rule: &Rule| {
                let (setting, value) = builder.or(env)?;
                if (rule.valid)(&value) {
                    return Some(value);
                }
                errors.push(ConfigError::new(setting, value.to_string(), rule.expected));
                None
            };
        let flush_interval = check(
            self.flush_interval.map(|d| ("Builder::flush_interval", Setting::Duration(d))),
            interval.map(|v| ("TELEM_FLUSH_INTERVAL_MS", v)),
            &Rule { expected: FLUSH_INTERVAL, valid: |v| v.duration() >= Duration::from_millis(1) },
        );
        let ring_capacity = check(
            self.ring_capacity.map(|n| ("Builder::ring_capacity", Setting::Num(n))),
            ring.map(|v| ("TELEM_RING_CAPACITY", v)),
            &Rule { expected: RING_CAPACITY, valid: |v| (2..=MAX_RING_CAPACITY).contains(&v.num()) },
        );
        let queue_capacity = check(
            self.queue_capacity.map(|n| ("Builder::queue_capacity", Setting::Num(n))),
            None,
            &Rule { expected: "a number of spans, 1 to 2^32", valid: |v| (1..=1 << 32).contains(&v.num()) },
        )
        .map_or(DEFAULT_QUEUE_CAPACITY, |v| v.num());
        let mut batch_size = check(
            self.batch_size.map(|n| ("Builder::batch_size", Setting::Num(n))),
            None,
            &Rule { expected: "a number of spans, at least 1", valid: |v| v.num() >= 1 },
        )
        .map_or(DEFAULT_BATCH_SIZE, |v| v.num());
        let keep_errors = check(
            self.keep_errors.map(|n| ("Builder::keep_errors", Setting::Num(n))),
            keep.map(|v| ("TELEM_KEEP_ERRORS", v)),
            &Rule { expected: KEEP_ERRORS, valid: |v| v.num() <= 1 << 20 },
        )
        .map_or(0, |v| v.num());
        let cardinality_limit = check(
            self.cardinality_limit.map(|n| ("Builder::cardinality_limit", Setting::Num(n))),
            env_limit.map(|v| ("TELEM_METRICS_CARDINALITY_LIMIT", v)),
            &Rule { expected: CARDINALITY, valid: |v| v.num() >= 2 },
        )
        .map_or(crate::metrics::DEFAULT_CARDINALITY_LIMIT, |v| v.num());
        let mut metric_limits = std::mem::take(&mut self.metric_limits);
        metric_limits.retain(|(name, n)| {
            if *n < 2 {
                errors.push(ConfigError::new(
                    "Builder::metric_cardinality_limit",
                    format!("{name:?}, {n}"),
                    CARDINALITY,
                ));
            }
            *n >= 2
        });
        let prometheus_addr_set = self.prometheus_addr.is_some() || env_prometheus.is_some();
        let prometheus_addr = match self.prometheus_addr.take() {
            Some(addr) => addr
                .trim()
                .parse::<std::net::SocketAddr>()
                .map_err(|_| {
                    errors.push(ConfigError::new("Builder::prometheus_addr", addr.clone(), PROMETHEUS_ADDR));
                })
                .ok(),
            None => env_prometheus.and_then(|v| v.string().parse().ok()),
        }
        .unwrap_or(DEFAULT_PROMETHEUS_ADDR);
        if batch_size > queue_capacity {
            if self.batch_size.is_some() {
                errors.push(ConfigError::new(
                    "Builder::batch_size",
                    batch_size.to_string(),
                    "at most the queue capacity (every batch would be dropped)",
                ));
            }
            batch_size = DEFAULT_BATCH_SIZE.min(queue_capacity);
        }

        let sampler = match self.sampler {
            Some(s) if !s.is_valid() => {
                errors.push(ConfigError::new("Builder::sampler", s.to_string(), "a ratio between 0 and 1"));
                None
            }
            Some(s) => Some(s),
            None => env_sampler,
        };

        let mut resource_attributes = std::mem::take(&mut self.resource);
        resource_attributes.retain(|(key, value)| {
            let reserved = key.is_empty() || key == resource::SESSION_ID || key == resource::SERVICE_NAME;
            if reserved {
                errors.push(ConfigError::new(
                    "Builder::resource_attribute",
                    format!("{key:?}, {value}"),
                    "a non-empty key other than service.name (use Builder::service_name) and session.id (set by telem)",
                ));
            }
            !reserved
        });
        if self.service_name.as_ref().is_some_and(|n| n.trim().is_empty()) {
            errors.push(ConfigError::new("Builder::service_name", "\"\"", "a non-empty name"));
            self.service_name = None;
        }
        let enabled = self
            .enabled
            .or(telem_enabled.map(Setting::bool))
            .unwrap_or(!sdk_disabled.map(Setting::bool).unwrap_or(false));
        let switches = std::mem::take(&mut self.switches);
        let switch = |name: &str| switches.iter().rev().find(|(n, _)| n == name).map(|&(_, on)| on);
        let mut console_mode = self.console.or(console.map(Setting::console)).unwrap_or(ConsoleMode::Text);
        match switch("console") {
            Some(false) => console_mode = ConsoleMode::Off,
            Some(true) if console_mode == ConsoleMode::Off => console_mode = self.console.unwrap_or(ConsoleMode::Text),
            _ => {}
        }
        let config = Config {
            enabled,
            resource: resource::resolve(resource::Sources {
                env_attributes,
                service_name: self.service_name.take().or(service.map(Setting::string)),
                builder_attributes: resource_attributes,
                command_line: self.command_line,
            }),
            flush_interval: flush_interval.map_or(DEFAULT_FLUSH_INTERVAL, |v| v.duration()),
            ring_capacity: ring_capacity.map_or(DEFAULT_RING_CAPACITY, |v| v.num()),
            batch_size,
            queue_capacity,
            shutdown_timeout: self.shutdown_timeout.unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            fatal_timeout: self.fatal_timeout.unwrap_or(DEFAULT_FATAL_TIMEOUT),
            level,
            console: console_mode,
            store: switch("store").or(store.map(Setting::bool)).unwrap_or(true),
            store_dir: self
                .store_dir
                .take()
                .or(store_dir.map(|v| PathBuf::from(v.string())))
                .unwrap_or_else(|| PathBuf::from(".telem")),
            switches,
            sampler: sampler.unwrap_or_default(),
            keep_errors: keep_errors > 0,
            keep_errors_traces: keep_errors,
            cardinality_limit,
            metric_limits,
            prometheus_addr,
            prometheus_addr_set,
        };
        (config, errors)
    }
}

/// What a setting accepts.
struct Rule {
    expected: &'static str,
    valid: fn(&Setting) -> bool,
}

const LEVEL: &str = "comma-separated directives such as `warn,my_crate::db=debug` \
(levels: trace, debug, info, warn, error, critical, off; a bare word is a level)";
const RESOURCE_ATTRIBUTES: &str = "comma-separated key=value pairs, `,` `=` and `%` inside a key or value \
percent-encoded (`team=pay%2Cments,region=eu`)";
const KEEP_ERRORS: &str = "a number of traces to hold, 0 (off) to 2^20, or one of on, off";
/// The traces `TELEM_KEEP_ERRORS=on` holds at most.
pub const DEFAULT_KEEP_ERRORS_TRACES: usize = 1024;
/// The spans the keep-errors rule holds at most per trace it may hold, on average.
pub const KEEP_ERRORS_SPANS_PER_TRACE: usize = 64;
const CARDINALITY: &str = "a number of series per metric, at least 2 (one is the overflow series)";
const PROMETHEUS_ADDR: &str = "an ip:port to listen on, such as 127.0.0.1:9464 (port 0: any free port)";
/// Where the Prometheus endpoint listens by default: loopback, the OpenTelemetry Prometheus exporter's port.
pub(crate) const DEFAULT_PROMETHEUS_ADDR: std::net::SocketAddr =
    std::net::SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 9464));
const FLUSH_INTERVAL: &str = "at least 1 ms (a shorter interval spins a core)";
const RING_CAPACITY: &str = "a number of slots, 2 to 2^30";
/// The largest ring: 2^30 slots, 64 GiB of address space at most, taken in segments as it fills.
const MAX_RING_CAPACITY: usize = 1 << 30;

/// `1/true/yes/on` or `0/false/no/off`, any case.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A setting's value, from either source.
enum Setting {
    Bool(bool),
    Str(String),
    Num(usize),
    Duration(Duration),
    Console(ConsoleMode),
}

impl Setting {
    fn bool(self) -> bool {
        matches!(self, Setting::Bool(true))
    }
    fn string(self) -> String {
        match self {
            Setting::Str(s) => s,
            _ => String::new(),
        }
    }
    fn num(&self) -> usize {
        match self {
            Setting::Num(n) => *n,
            _ => 0,
        }
    }
    fn duration(&self) -> Duration {
        match self {
            Setting::Duration(d) => *d,
            _ => Duration::ZERO,
        }
    }
    fn console(self) -> ConsoleMode {
        match self {
            Setting::Console(m) => m,
            _ => ConsoleMode::Text,
        }
    }
}

/// As the error message quotes it.
impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Bool(b) => write!(f, "{b}"),
            Setting::Str(s) => write!(f, "{s:?}"),
            Setting::Num(n) => write!(f, "{n}"),
            Setting::Duration(d) => write!(f, "{d:?}"),
            Setting::Console(m) => write!(f, "{m:?}"),
        }
    }
}
