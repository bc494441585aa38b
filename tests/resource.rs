//! The resource: from the builder, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` over what telem
//! detects; carried by every batch with the session's id; stored once per session. Each test runs in
//! its own process (cargo-nextest), so setting variables is safe.

use std::sync::{Arc, Mutex};
use telem::{Resource, Value};

#[telem::span]
fn work(i: u32) {
    telem::info!("work.done", i = i);
}

/// Keeps the resource of every batch it receives.
#[derive(Clone, Default)]
struct Resources(Arc<Mutex<Vec<Arc<Resource>>>>);

impl telem::Exporter for Resources {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        assert_eq!(batch.session_id(), batch.resource().session_id());
        assert_eq!(batch.service_name(), batch.resource().service_name());
        self.0.lock().unwrap().push(batch.resource().clone());
        Ok(())
    }
}

fn store_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("telem-test-resource-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn text(resource: &Resource, key: &str) -> String {
    match resource.get(key) {
        Some(Value::Str(s)) => s.to_string(),
        other => panic!("{key}: {other:?} in {resource:?}"),
    }
}

#[test]
fn builder_and_environment_reach_every_exporter_and_the_store() {
    std::env::set_var(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.name=overridden, deployment.environment.name=staging,team=pay%2Cments,service.version=0.9,host.name=box%201",
    );
    std::env::set_var("OTEL_SERVICE_NAME", "checkout");
    let dir = store_dir("sources");
    let seen = Resources::default();
    let telem = telem::Builder::new()
        .exporter("console", false)
        .store_dir(&dir)
        .with_exporter("resources", seen.clone())
        .service_version("1.2.3")
        .resource_attribute("region", "eu-west")
        .resource_attribute("shard", 7)
        .record_command_line(true)
        .try_init()
        .expect("telem starts");
    work(1);
    assert!(telem.shutdown());

    let seen = seen.0.lock().unwrap();
    assert!(!seen.is_empty());
    let r = &seen[0];
    assert_eq!(r.service_name(), "checkout", "OTEL_SERVICE_NAME beats service.name in the attribute list");
    assert_eq!(r.attributes()[0].0, "service.name");
    assert_eq!(text(r, "service.version"), "1.2.3", "the builder beats the environment");
    assert_eq!(text(r, "deployment.environment.name"), "staging");
    assert_eq!(text(r, "team"), "pay,ments", "percent-decoded");
    assert_eq!(text(r, "host.name"), "box 1", "the environment beats what telem detects");
    assert_eq!(text(r, "region"), "eu-west");
    assert_eq!(r.get("shard"), Some(&Value::I64(7)));
    assert_eq!(text(r, "telemetry.sdk.name"), "telem");
    assert_eq!(text(r, "telemetry.sdk.language"), "rust");
    assert_eq!(r.get("process.pid"), Some(&Value::I64(std::process::id() as i64)));
    assert!(text(r, "process.executable.path").contains("resource"), "{r:?}");
    assert!(text(r, "process.command_line").contains("resource"), "{r:?}");
    assert!(r.get("os.type").is_some() && r.get("host.arch").is_some(), "{r:?}");
    assert_eq!(text(r, "session.id"), format!("{:032x}", r.session_id()));
    assert_ne!(r.session_id(), 0);
    assert!(seen.iter().all(|s| Arc::ptr_eq(s, r)), "one resource for the whole session");

    let contents = telem::store::read_dir_all(&dir).expect("a readable store");
    assert_eq!(contents.spans.len(), 1);
    assert_eq!(*contents.spans[0].resource, **r, "the store gives back the resource the exporters saw");
    assert!(contents.events.iter().all(|e| *e.resource == **r));
    let start = contents.events.iter().find(|e| &*e.name == "session.start").expect("session.start");
    assert_eq!(start.field("session.id"), r.get("session.id"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn command_line_is_opt_in_and_detected_values_are_there() {
    let seen = Resources::default();
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("resources", seen.clone())
        .environment("production")
        .try_init()
        .expect("telem starts");
    work(1);
    assert!(telem.shutdown());
    let seen = seen.0.lock().unwrap();
    let r = &seen[0];
    assert!(r.get("process.command_line").is_none(), "{r:?}");
    assert_eq!(text(r, "deployment.environment.name"), "production");
    assert!(r.service_name().starts_with("resource"), "the executable's name: {}", r.service_name());
    assert!(r.get("service.version").is_none());
}

#[test]
fn a_malformed_pair_names_the_variable_and_the_pair_and_nothing_of_it_is_used() {
    std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "a=1,broken");
    let err = telem::try_init().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("OTEL_RESOURCE_ATTRIBUTES"), "{message}");
    assert!(message.contains("\"broken\""), "{message}");
    match &err {
        telem::InitError::Invalid(errors) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].setting, "OTEL_RESOURCE_ATTRIBUTES");
            assert_eq!(errors[0].value, "a=1,broken");
        }
        other => panic!("{other:?}"),
    }
    for (raw, pair) in [("a=%zz", "a=%zz"), ("=1", "=1"), ("a=1,b=%e9", "b=%e9")] {
        std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", raw);
        let message = telem::try_init().unwrap_err().to_string();
        assert!(message.contains(&format!("{pair:?}")), "{raw}: {message}");
    }

    // `init` reports it and goes on without the variable: the spec says to discard the whole value.
    std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "a=1,broken");
    let seen = Resources::default();
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("r", seen.clone())
        .init();
    work(1);
    assert!(telem.shutdown());
    assert!(seen.0.lock().unwrap()[0].get("a").is_none());
}

#[test]
fn builder_values_are_checked() {
    let err = telem::Builder::new()
        .service_name(" ")
        .resource_attribute("", "x")
        .resource_attribute("session.id", "mine")
        .try_init()
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Builder::service_name"), "{message}");
    assert!(message.contains("Builder::resource_attribute(\"\", x)"), "{message}");
    assert!(message.contains("\"session.id\""), "{message}");
}

/// The store writes the resource in the session block: once per session however many batches it
/// gets, and again with the new `session.id` after `new_session()`.
#[test]
fn the_store_records_the_resource_once_per_session() {
    let dir = store_dir("once");
    let marker = "resource-marker-7f3a";
    let telem = telem::Builder::new()
        .exporter("console", false)
        .store_dir(&dir)
        .resource_attribute("marker", marker)
        .try_init()
        .expect("telem starts");
    for i in 0..3 {
        work(i);
        telem::flush();
    }
    assert!(telem::new_session());
    for i in 3..5 {
        work(i);
        telem::flush();
    }
    assert!(telem.shutdown());

    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let count = bytes.windows(marker.len()).filter(|w| *w == marker.as_bytes()).count();
    assert_eq!(count, 2, "one session block per session, not one per batch");

    let contents = telem::store::read_dir_all(&dir).unwrap();
    assert_eq!(contents.spans.len(), 5);
    let sessions: Vec<u128> = contents.spans.iter().map(|s| s.resource.session_id()).collect();
    assert!(sessions[..3].iter().all(|&s| s == sessions[0]) && sessions[3..].iter().all(|&s| s == sessions[3]));
    assert_ne!(sessions[0], sessions[3], "new_session() gives a new session.id");
    for span in &contents.spans {
        let Some(Value::Str(m)) = span.resource.get("marker") else { panic!("{:?}", span.resource) };
        assert_eq!(m, marker);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
