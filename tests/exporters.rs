//! User exporters register the same way as the built-ins, and a failing or panicking exporter loses only
//! its own batches, counted.

use std::sync::atomic::{AtomicUsize, Ordering};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);

struct Counting;
impl telem::Exporter for Counting {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        RECEIVED.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}
telem::register_exporter!("counting", |_| Ok(Some(Box::new(Counting))));

struct Panicking;
impl telem::Exporter for Panicking {
    fn export(&mut self, _: &telem::Batch) -> Result<(), telem::ExportError> {
        panic!("exporter bug");
    }
}
telem::register_exporter!("panicking", |config| {
    Ok(config.exporter_switch("panicking").unwrap_or(false).then(|| Box::new(Panicking) as Box<dyn telem::Exporter>))
});

struct Failing;
impl telem::Exporter for Failing {
    fn export(&mut self, _: &telem::Batch) -> Result<(), telem::ExportError> {
        Err("collector unreachable at 127.0.0.1:9".into())
    }
}

#[telem::span]
fn work() {}

#[test]
fn registered_exporters_receive_spans_and_failures_stay_local() {
    let dir = std::env::temp_dir().join(format!("telem-test-exporters-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telem = telem::Builder::new()
        .console(telem::ConsoleMode::Off)
        .store_dir(&dir)
        .batch_size(100)
        .exporter("panicking", true)
        .with_exporter("failing", Failing)
        .try_init()
        .unwrap();
    for _ in 0..1000 {
        work();
    }
    assert!(telem::flush());
    for _ in 0..1000 {
        work();
    }
    assert!(telem.shutdown());
    let stats = telem::stats();
    assert_eq!(stats.recorded, 2000);
    let get = |name| stats.exporter(name).unwrap_or_else(|| panic!("{name} missing: {stats:?}")).clone();
    assert_eq!(RECEIVED.load(Ordering::SeqCst), 2000, "user exporter registered with register_exporter!");
    assert_eq!((get("counting").exported, get("counting").dropped), (2000, 0));
    assert_eq!((get("store").exported, get("store").dropped), (2000, 0));
    assert_eq!((get("panicking").exported, get("panicking").dropped), (0, 2000));
    assert_eq!((get("failing").exported, get("failing").dropped), (0, 2000));
    for e in &stats.exporters {
        assert_eq!(e.in_flight, 0, "{e:?}");
        assert_eq!(e.recorded, e.exported + e.dropped);
    }
    let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::read_to_string(file).unwrap().lines().count(), 2000);
}
