//! The `log` bridge (feature `log`): existing `log` calls become telem events.
mod common;

use telem::{Level, Value};

#[telem::span]
fn handler() {
    log::warn!(user = 7, admin = false, name = "ann"; "disk almost full: {}%", 93);
    log::debug!("below the default level");
}

#[test]
fn log_records_become_events_of_the_current_span() {
    let (telem, memory) = common::start();
    log::info!(target: "startup", "listening");
    handler();
    assert!(telem.shutdown());
    let span = memory.spans().into_iter().find(|s| s.name == "handler").unwrap();
    let events: Vec<_> = memory.events().into_iter().filter(|e| !e.name.starts_with("session.")).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    let (startup, warn) = (&events[0], &events[1]);
    assert_eq!((startup.name.as_str(), startup.level, startup.span_id), ("startup", Level::Info, None));
    assert_eq!(startup.message.as_deref(), Some("listening"));
    assert_eq!(warn.name, module_path!(), "the default target is the module");
    assert_eq!(warn.module, module_path!());
    assert_eq!(warn.level, Level::Warn);
    assert_eq!((warn.trace_id, warn.span_id), (Some(span.trace_id), Some(span.span_id)));
    assert_eq!(warn.message.as_deref(), Some("disk almost full: 93%"));
    assert_eq!(warn.field("user"), Some(&Value::I64(7)));
    assert_eq!(warn.field("admin"), Some(&Value::Bool(false)));
    assert_eq!(warn.field("name"), Some(&Value::from("ann")));
    assert!(warn.file.ends_with("log_bridge.rs") && warn.line > 0);
}

struct Other;
impl log::Log for Other {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &log::Record<'_>) {}
    fn flush(&self) {}
}

#[test]
fn another_logger_already_set_leaves_telem_running() {
    log::set_logger(&Other).unwrap();
    let (telem, memory) = common::start();
    log::error!("goes to the other logger");
    telem::error!("still recorded");
    assert!(telem::log_bridge::install().is_err());
    assert!(telem.shutdown());
    let names: Vec<String> = memory.events().into_iter().map(|e| e.name).collect();
    assert!(
        names.contains(&"still recorded".to_owned()) && !names.iter().any(|n| n.contains("log_bridge")),
        "{names:?}"
    );
}
