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
        telem::InitError::Env(errors) => assert_eq!(errors.len(), 2),
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
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(file).unwrap().trim()).unwrap();
    assert_eq!(line["service"], "checkout");
    assert_eq!(line["name"], "work");

    std::env::set_var("OTEL_SDK_DISABLED", "perhaps");
    let message = telem::try_init().unwrap_err().to_string();
    assert!(message.contains("OTEL_SDK_DISABLED") && message.contains("perhaps"), "{message}");
}
