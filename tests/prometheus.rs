//! The Prometheus endpoint against the real tools (issue 11): `promtool check metrics` lints what the
//! endpoint serves, and a real Prometheus server scrapes it and answers queries with telem's values.
//!
//! The tools come from Debian's `prometheus` package (`.ci/run` installs it). Without them a test
//! fails under CI (`CI` set) and is skipped elsewhere, so a developer machine without them still
//! passes. Every server listens on 127.0.0.1, on a free port, and is killed when its test ends,
//! however it ends. Each test runs in its own process (cargo-nextest): telem is process-global.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The Prometheus job scraping telem.
const JOB: &str = "telem";

/// The path of `name` on `PATH`. When it is missing: under CI, a failure saying how to get it;
/// elsewhere `None`, after saying on stderr that the test is skipped.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| {
            use std::os::unix::fs::PermissionsExt as _;
            p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "`{name}` is not installed: install Debian's prometheus package \
                 (`apt-get install -y prometheus`; .ci/run does it)"
            );
        }
        eprintln!("skipped: {name} not installed");
    }
    found
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("telem-test-prometheus-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a file written by a child holds (empty when it cannot be read).
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A free port on 127.0.0.1: bound, then released for the server about to start.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// An HTTP client for 127.0.0.1: no proxy, every request bounded in time, any status returned.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// `GET url` (with `Accept: accept` when given): the status, `Content-Type` and body.
fn get(agent: &ureq::Agent, url: &str, accept: Option<&str>) -> Result<(u16, String, String), ureq::Error> {
    let mut request = agent.get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let mut response = request.call()?;
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.body_mut().read_to_string()?;
    Ok((response.status().as_u16(), content_type, body))
}

/// `s` percent-encoded for a URL's query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts telem with its Prometheus endpoint on a free port of 127.0.0.1 and no other exporter.
fn start() -> (telem::Telem, SocketAddr) {
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .prometheus_addr("127.0.0.1:0")
        .try_init()
        .expect("telem starts with its Prometheus endpoint");
    let addr = telem::metrics::endpoint().expect("the endpoint runs");
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    (telem, addr)
}

#[telem::counted(duration, concurrency)]
fn charge(cents: u64) -> Result<u64, String> {
    if cents == 0 {
        Err("nothing to charge".into())
    } else {
        Ok(cents)
    }
}

/// One of every kind of metric, with labels, a unit and a value that needs escaping.
fn record_everything() {
    telem::counter!("api.requests", endpoint = "/chat", method = "POST").add(3);
    telem::counter!("api.requests", endpoint = "/chat", method = String::from("GET")).increment();
    telem::counter!("escaped", path = "a\"b\\c\nd").increment();
    telem::gauge!("queue.size", queue = "processing").set(42_usize);
    telem::up_down_counter!("jobs.active").add(3);
    telem::up_down_counter!("jobs.active").add(-1);
    let h = telem::histogram!("response.time", unit = "s", buckets = [0.01, 0.1, 1], endpoint = "/chat");
    for v in [0.005, 0.05, 0.5, 5.0] {
        h.record(v);
    }
    let sizes = telem::histogram!("payload.size", unit = "By", buckets = [100, 1000]);
    sizes.record(512);
    for cents in [0, 100, 250, 0, 999] {
        let _ = charge(cents);
    }
}

/// Runs `promtool check metrics` on `exposition`, for at most 30 s: its exit code and what it printed.
fn promtool_check(promtool: &Path, exposition: &str) -> (Option<i32>, String) {
    let dir = TempDir::new("promtool");
    let (out, err) = (dir.0.join("stdout"), dir.0.join("stderr"));
    let mut child = Killed(
        Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("start promtool"),
    );
    {
        let mut stdin = child.0.stdin.take().unwrap();
        // An early exit (a broken pipe here) shows in its status and output below.
        let _ = stdin.write_all(exposition.as_bytes());
    } // closed: promtool reads to the end
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for promtool") {
            break status;
        }
        assert!(Instant::now() < deadline, "promtool check metrics did not finish in 30 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), format!("{}{}", read(&out), read(&err)))
}

#[test]
fn promtool_accepts_what_the_endpoint_serves() {
    let Some(promtool) = tool("promtool") else { return };
    let (telem, addr) = start();
    record_everything();
    let agent = agent();
    let url = format!("http://{addr}/metrics");

    let (status, content_type, text) = get(&agent, &url, None).expect("GET /metrics");
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, TEXT);
    for series in [
        r#"api_requests_total{endpoint="/chat",method="POST"} 3"#,
        r#"escaped_total{path="a\"b\\c\nd"} 1"#,
        r#"queue_size{queue="processing"} 42"#,
        "jobs_active 2",
        r#"response_time_seconds_bucket{endpoint="/chat",le="+Inf"} 4"#,
        r#"payload_size_bytes_count 1"#,
    ] {
        assert!(text.lines().any(|l| l == series), "no line `{series}` in:\n{text}");
    }
    for name in ["function_calls_total", "function_calls_duration_seconds_count", "function_calls_concurrent"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "no series {name} in:\n{text}");
    }

    let (code, printed) = promtool_check(&promtool, &text);
    assert!(
        code == Some(0) && printed.trim().is_empty(),
        "promtool check metrics exited with {code:?} and printed:\n{printed}\non the exposition:\n{text}"
    );

    let (status, content_type, om) =
        get(&agent, &url, Some("application/openmetrics-text; version=1.0.0")).expect("GET /metrics (OpenMetrics)");
    assert_eq!(status, 200, "{om}");
    assert_eq!(content_type, OPENMETRICS);
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# UNIT response_time_seconds seconds"), "{om}");
    assert!(om.contains("# TYPE api_requests counter"), "{om}");

    assert!(telem.shutdown());
    assert_eq!(telem::metrics::endpoint(), None, "the endpoint stops with telem");
    // A new connection (a client without pooled ones): nothing listens any more.
    assert!(get(&self::agent(), &url, None).is_err(), "nothing listens on {addr} after shutdown");
}

/// A Prometheus server, listening on 127.0.0.1, killed when dropped (before its directory goes).
struct Prometheus {
    server: Killed,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts one scraping `target` every second as job [`JOB`].
    fn start(binary: &Path, target: SocketAddr) -> Prometheus {
        let dir = TempDir::new("server");
        let config = dir.0.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let port = free_port();
        let log = dir.0.join("prometheus.log");
        let file = std::fs::File::create(&log).expect("create prometheus.log");
        let server = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.0.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Keeps the exemplars of the OpenMetrics scrapes, for `/api/v1/query_exemplars`.
            .arg("--enable-feature=exemplar-storage")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("prometheus.log"))
            .stderr(file)
            .spawn()
            .expect("start prometheus");
        Prometheus { server: Killed(server), port, log, _dir: dir }
    }

    /// The `data` of a successful answer to `GET /api/v1/<call>`, or why there is none.
    fn api(&self, agent: &ureq::Agent, call: &str) -> Result<serde_json::Value, String> {
        let url = format!("http://127.0.0.1:{}/api/v1/{call}", self.port);
        let (status, _, body) = get(agent, &url, None).map_err(|e| e.to_string())?;
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if status != 200 || json["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        Ok(json["data"].clone())
    }

    /// The instant vector `query` evaluates to now, or why there is none.
    fn query(&self, agent: &ureq::Agent, query: &str) -> Result<Vec<serde_json::Value>, String> {
        let data = self.api(agent, &format!("query?query={}", encode(query)))?;
        data["result"].as_array().cloned().ok_or_else(|| format!("no result vector: {data}"))
    }

    /// Fails at once, with its log, when the server has exited (a bad flag, a port taken meanwhile).
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.server.0.try_wait() {
            panic!("prometheus exited ({status}):\n{}", read(&self.log));
        }
    }

    /// The scrape targets' state, for failure messages.
    fn targets(&self, agent: &ureq::Agent) -> String {
        let url = format!("http://127.0.0.1:{}/api/v1/targets", self.port);
        get(agent, &url, None).map_or_else(|e| e.to_string(), |(_, _, body)| body)
    }
}

/// The sample's value, parsed (Prometheus writes it as a string).
fn value(sample: &serde_json::Value) -> Option<f64> {
    sample["value"][1].as_str()?.parse().ok()
}

#[test]
fn a_real_prometheus_scrapes_telem() {
    let Some(binary) = tool("prometheus") else { return };
    let (telem, addr) = start();
    record_everything();
    let orders = telem::counter!("shop.orders", region = "eu-west");
    for _ in 0..7 {
        orders.increment();
    }
    // An exemplar: only the OpenMetrics format carries it, and Prometheus asks for that format first.
    let latency = telem::histogram!("checkout.latency", unit = "s", buckets = [0.1, 1]);
    let span = telem::in_span("checkout", |span| {
        latency.record(0.25);
        span.context()
    })
    .expect("the span records");
    let mut server = Prometheus::start(&binary, addr);
    let agent = agent();

    // The counter, with its exact value, once the first scrapes are in.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last: String;
    let sample = loop {
        match server.query(&agent, "shop_orders_total") {
            Ok(result) => match result.iter().find(|s| value(s) == Some(7.0)) {
                Some(sample) => break sample.clone(),
                None => last = format!("{result:?}"),
            },
            Err(e) => last = e,
        }
        server.assert_running();
        assert!(
            Instant::now() < deadline,
            "Prometheus had no shop_orders_total of 7 within 60 s; last answer: {last}\ntargets: {}\nlog:\n{}",
            server.targets(&agent),
            read(&server.log)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let metric = &sample["metric"];
    assert_eq!(metric["__name__"], "shop_orders_total", "{sample}");
    assert_eq!(metric["region"], "eu-west", "{sample}");
    assert_eq!(metric["job"], JOB, "{sample}");
    assert_eq!(metric["instance"], addr.to_string(), "{sample}");

    // The target is up, and the other kinds of metric came through the same scrapes.
    let one = |query: &str| -> Vec<serde_json::Value> {
        server.query(&agent, query).unwrap_or_else(|e| panic!("{query}: {e}\nlog:\n{}", read(&server.log)))
    };
    let up = one(&format!("up{{job=\"{JOB}\"}}"));
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(value(&up[0]), Some(1.0), "{up:?}\ntargets: {}", server.targets(&agent));
    let checks: [(&str, f64); 5] = [
        (r#"api_requests_total{method="POST"}"#, 3.0),
        (r#"escaped_total{path="a\"b\\c\nd"}"#, 1.0),
        (r#"queue_size{queue="processing"}"#, 42.0),
        ("jobs_active", 2.0),
        (r#"response_time_seconds_bucket{le="0.1"}"#, 2.0),
    ];
    for (query, expected) in checks {
        let result = one(query);
        assert_eq!(result.iter().filter_map(value).collect::<Vec<_>>(), [expected], "{query}: {result:?}");
    }
    let errors = one(r#"function_calls_total{function="charge",result="error"}"#);
    assert_eq!(errors.iter().filter_map(value).collect::<Vec<_>>(), [2.0], "{errors:?}");

    // The exemplar came through the OpenMetrics parser: the bucket's trace and span, and the value.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let call = format!(
        "query_exemplars?query={}&start={}&end={}",
        encode("checkout_latency_seconds_bucket"),
        now - 600,
        now + 600
    );
    let exemplars = server.api(&agent, &call).unwrap_or_else(|e| panic!("{call}: {e}"));
    let bucket = exemplars
        .as_array()
        .and_then(|all| all.iter().find(|series| series["seriesLabels"]["le"] == "1"))
        .unwrap_or_else(|| panic!("no exemplar for the bucket le=\"1\": {exemplars}"));
    let exemplar = &bucket["exemplars"][0];
    assert_eq!(exemplar["labels"]["trace_id"], span.trace_id.to_string(), "{bucket}");
    assert_eq!(exemplar["labels"]["span_id"], span.span_id.to_string(), "{bucket}");
    assert_eq!(exemplar["value"], "0.25", "{bucket}");

    drop(server);
    assert!(telem.shutdown());
}

#[test]
fn an_address_in_use_is_an_exporter_error_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = taken.local_addr().unwrap();
    let result = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .prometheus_addr(addr.to_string())
        .try_init();
    match result {
        Err(telem::InitError::Exporter { name, error }) => {
            assert_eq!(name, "prometheus");
            let message = error.to_string();
            assert!(message.contains(&addr.to_string()), "the address is named: {message}");
        }
        Err(other) => panic!("expected InitError::Exporter, got {other:?}"),
        Ok(_) => panic!("telem started although {addr} is taken"),
    }
    assert_eq!(telem::metrics::endpoint(), None);
    drop(taken);

    // Nothing was left half-started: telem starts afterwards, on a free port.
    let (telem, served) = start();
    assert_ne!(served, addr);
    assert!(telem.shutdown());
    assert_eq!(telem::metrics::endpoint(), None);
}

#[test]
fn an_invalid_builder_address_names_the_setting_and_the_value() {
    let err = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .prometheus_addr("not an address")
        .try_init()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("Builder::prometheus_addr") && message.contains("not an address"),
        "the setting and the value are named: {message}"
    );
    match &err {
        telem::InitError::Invalid(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].setting, "Builder::prometheus_addr");
            assert_eq!(errors[0].value, "not an address");
        }
        other => panic!("expected InitError::Invalid, got {other:?}"),
    }
    assert_eq!(telem::metrics::endpoint(), None);
}

#[test]
fn an_invalid_environment_address_names_the_variable_and_the_value() {
    // This test's own process (cargo-nextest): setting the variable touches no other test.
    std::env::set_var("TELEM_PROMETHEUS_ADDR", "localhost:port");
    let err = telem::Builder::new().exporter("console", false).exporter("store", false).try_init().unwrap_err();
    std::env::remove_var("TELEM_PROMETHEUS_ADDR");
    let message = err.to_string();
    assert!(
        message.contains("TELEM_PROMETHEUS_ADDR") && message.contains("\"localhost:port\""),
        "the variable and the value are named: {message}"
    );
    match &err {
        telem::InitError::Invalid(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].setting, "TELEM_PROMETHEUS_ADDR");
            assert_eq!(errors[0].value, "localhost:port");
        }
        other => panic!("expected InitError::Invalid, got {other:?}"),
    }
    assert_eq!(telem::metrics::endpoint(), None);
}
