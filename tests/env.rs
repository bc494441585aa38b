//! Configuration from the environment: valid values apply, invalid ones are clear errors, and the
//! builder wins over the environment. Each test runs in its own process, so setting variables is safe.

mod common;

#[telem::span]
fn work() {}

#[test]
fn an_invalid_value_names_the_variable_and_the_value() {
    std::env::set_var("TELEM_ENABLED", "maybe");
    std::env::set_var("TELEM_CONSOLE", "loud");
    let err = telem::try_init().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("TELEM_ENABLED") && message.contains("\"maybe\""), "{message}");
    assert!(message.contains("TELEM_CONSOLE") && message.contains("\"loud\""), "all errors, not the first: {message}");
    match err {
        telem::InitError::Invalid(errors) => assert_eq!(errors.len(), 2),
        other => panic!("{other:?}"),
    }
    // `init` reports and goes on with the defaults.
    let telem = telem::Builder::new().exporter("store", false).init();
    work();
    assert!(telem.shutdown());
    assert_eq!(telem::stats().recorded, 1);
}

#[test]
fn telem_enabled_off_disables_and_the_builder_overrides_it() {
    for off in ["0", "false", "NO", "off"] {
        std::env::set_var("TELEM_ENABLED", off);
        let telem = telem::try_init().unwrap();
        work();
        assert!(!telem::current_span().is_recording());
        assert!(telem.shutdown());
        assert_eq!(telem::stats().recorded, 0, "{off}");
    }
    let (telem, memory) = common::start_with(|b| b.enabled(true));
    work();
    assert!(telem.shutdown());
    assert_eq!(memory.spans().len(), 1);
}

#[test]
fn otel_variables() {
    std::env::set_var("OTEL_SDK_DISABLED", "true");
    let telem = telem::try_init().unwrap();
    work();
    drop(telem);
    assert_eq!(telem::stats().recorded, 0);

    std::env::set_var("OTEL_SDK_DISABLED", "false");
    std::env::set_var("OTEL_SERVICE_NAME", "checkout");
    std::env::set_var("TELEM_CONSOLE", "json");
    let dir = std::env::temp_dir().join(format!("telem-test-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("TELEM_STORE_DIR", &dir);
    let telem = telem::try_init().unwrap();
    work();
    assert!(telem.shutdown());
    let spans = telem::store::read_dir(&dir).unwrap();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(&*spans[0].service, "checkout");
    assert_eq!(&*spans[0].name, "work");

    std::env::set_var("OTEL_SDK_DISABLED", "perhaps");
    let message = telem::try_init().unwrap_err().to_string();
    assert!(message.contains("OTEL_SDK_DISABLED") && message.contains("perhaps"), "{message}");
}

#[test]
fn builder_values_are_checked_by_the_same_rules_as_the_environment() {
    use std::time::Duration;
    let err = telem::Builder::new()
        .ring_capacity(usize::MAX)
        .flush_interval(Duration::ZERO)
        .batch_size(0)
        .queue_capacity(0)
        .try_init()
        .unwrap_err();
    let message = err.to_string();
    for setting in
        ["Builder::ring_capacity", "Builder::flush_interval", "Builder::batch_size", "Builder::queue_capacity"]
    {
        assert!(message.contains(setting), "{setting} named in: {message}");
    }
    match &err {
        telem::InitError::Invalid(errors) => assert_eq!(errors.len(), 4, "{errors:?}"),
        other => panic!("{other:?}"),
    }
    // The same rule and message for the environment's ring capacity.
    std::env::set_var("TELEM_RING_CAPACITY", "1099511627776");
    let env = telem::try_init().unwrap_err().to_string();
    assert!(env.contains("TELEM_RING_CAPACITY") && env.contains("2 to 2^30"), "{env}");
    std::env::remove_var("TELEM_RING_CAPACITY");
    let builder = telem::Builder::new().ring_capacity(1 << 40).try_init().unwrap_err().to_string();
    assert!(builder.contains("Builder::ring_capacity(1099511627776)") && builder.contains("2 to 2^30"), "{builder}");

    // `init` reports them and runs with the defaults: the first span neither divides by zero nor aborts.
    let memory = telem::exporters::Memory::default();
    let telem = telem::Builder::new()
        .exporter("console", false)
        .exporter("store", false)
        .with_exporter("memory", memory.clone())
        .ring_capacity(usize::MAX)
        .batch_size(10)
        .queue_capacity(5)
        .init();
    work();
    assert!(telem.shutdown());
    assert_eq!(memory.spans().len(), 1);
}

#[test]
fn huge_durations_mean_no_limit() {
    use std::time::Duration;
    let (telem, memory) = common::start_with(|b| b.flush_interval(Duration::MAX).shutdown_timeout(Duration::MAX));
    work();
    assert!(telem::flush(), "flush works without a periodic export");
    assert_eq!(memory.spans().len(), 1);
    work();
    assert!(telem::shutdown(Duration::MAX), "waits without limit, no overflow");
    assert_eq!(memory.spans().len(), 2);
    let stats = telem::stats();
    assert_eq!(stats.exporter("memory").unwrap().in_flight, 0);
    drop(telem);
}

#[test]
fn an_empty_variable_counts_as_unset() {
    for var in
        ["OTEL_SERVICE_NAME", "TELEM_ENABLED", "OTEL_SDK_DISABLED", "TELEM_CONSOLE", "TELEM_STORE", "TELEM_STORE_DIR"]
    {
        std::env::set_var(var, "");
    }
    std::env::set_var("TELEM_RING_CAPACITY", "  ");
    std::env::set_var("TELEM_FLUSH_INTERVAL_MS", "");
    let (telem, memory) = common::start();
    work();
    assert!(telem.shutdown());
    let spans = memory.spans();
    assert_eq!(spans.len(), 1, "enabled by default");
}

/// What the built-in exporters' build functions are told, seen by a registered probe.
static SEEN: std::sync::Mutex<Option<(telem::ConsoleMode, bool)>> = std::sync::Mutex::new(None);

telem::register_exporter!("probe", |config| {
    *SEEN.lock().unwrap() = Some((config.console(), config.store()));
    Ok(None)
});

#[test]
fn switching_a_built_in_exporter_on_in_the_builder_wins_over_the_environment() {
    std::env::set_var("TELEM_STORE", "0");
    std::env::set_var("TELEM_CONSOLE", "off");
    let dir = std::env::temp_dir().join(format!("telem-test-switch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telem =
        telem::Builder::new().store_dir(&dir).exporter("store", true).exporter("console", true).try_init().unwrap();
    assert_eq!(*SEEN.lock().unwrap(), Some((telem::ConsoleMode::Text, true)));
    work();
    assert!(telem.shutdown());
    assert_eq!(telem::stats().exporter("store").map(|e| e.exported), Some(1), "{:?}", telem::stats());
    assert!(telem::stats().exporter("console").is_some());
    let spans = telem::store::read_dir(&dir).unwrap();
    assert!(spans.len() == 1 && &*spans[0].name == "work", "{spans:?}");

    // And switching off in the builder wins over an environment that says on.
    std::env::set_var("TELEM_STORE", "1");
    std::env::set_var("TELEM_CONSOLE", "json");
    let telem =
        telem::Builder::new().store_dir(&dir).exporter("store", false).exporter("console", false).try_init().unwrap();
    assert_eq!(*SEEN.lock().unwrap(), Some((telem::ConsoleMode::Off, false)));
    assert!(telem::stats().exporter("store").is_none() && telem::stats().exporter("console").is_none());
    assert!(telem.shutdown());
}
