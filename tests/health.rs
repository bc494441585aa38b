//! The health monitor through the public API: gauges in the exposition, checkpoints with their
//! derived figures and status, the final checkpoint, and checkpoints kept as events.
mod common;

use std::time::Duration;
use telem::health::{HealthStatus, Monitor, Thresholds};

#[test]
fn checkpoints_derive_velocity_utilisation_and_status() {
    let (telem, memory) = common::start();
    let monitor = Monitor::builder().interval(Duration::from_millis(10)).start();
    std::thread::sleep(Duration::from_millis(50));
    let first = monitor.checkpoint(100, 1, 4, 20, 8, 4);
    assert_eq!((first.completed, first.failed, first.active, first.pending), (100, 1, 4, 20));
    assert!((first.utilisation - 0.5).abs() < 1e-9);
    assert!((first.failure_rate - 1.0 / 101.0).abs() < 1e-9);
    assert!(first.velocity > 0.0 && first.velocity < 100.0 / 0.05 + 1.0, "{first}");
    assert_eq!(first.status, HealthStatus::Healthy);
    let busy = monitor.checkpoint(200, 1, 8, 0, 8, 8);
    assert_eq!(busy.status, HealthStatus::Degraded, "saturated: {busy}");
    let failing = monitor.checkpoint(200, 100, 0, 0, 8, 1);
    assert_eq!(failing.status, HealthStatus::Critical, "a third failed: {failing}");
    // The process gauges were sampled in the background.
    let text = telem::metrics::render();
    for gauge in ["process_memory_usage_bytes ", "process_thread_count ", "telem_rings_waiting ", "health_status 2"] {
        assert!(text.lines().any(|l| l.starts_with(gauge)), "no {gauge} in\n{text}");
    }
    let last = monitor.stop();
    assert_eq!((last.completed, last.failed), (200, 100));
    let line = last.to_string();
    assert!(line.starts_with("critical after "), "{line}");
    assert!(line.contains("200 completed") && line.contains("100 failed (33.3%)"), "{line}");
    assert!(last.process.resident_bytes.unwrap_or(0) > 0 && last.process.threads.unwrap_or(0) >= 1, "{line}");
    assert!(telem.shutdown());
    let events: Vec<_> = memory.events().into_iter().filter(|e| e.name == "health.checkpoint").collect();
    assert_eq!(events.len(), 4, "three checkpoints and the final one");
    assert_eq!(events[2].field("status"), Some(&telem::Value::from("critical")));
    assert_eq!(events[0].field("completed"), Some(&telem::Value::I64(100)));
}

#[test]
fn thresholds_are_configurable() {
    let strict = Thresholds { degraded_failure_rate: 0.001, ..Thresholds::default() };
    let monitor = Monitor::builder().thresholds(strict).start();
    assert_eq!(monitor.checkpoint(999, 1, 0, 0, 0, 0).status, HealthStatus::Degraded);
    assert_eq!(strict.status(0.0, 0.2), HealthStatus::Healthy);
    // Without telem running the checkpoint is still computed (no event is recorded).
    assert_eq!(monitor.stop().completed, 999);
}
