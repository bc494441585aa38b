use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<String>>>);
impl telem::Exporter for Collect {
    fn export(&mut self, batch: &telem::Batch) -> Result<(), telem::ExportError> {
        for s in batch.spans() {
            self.0.lock().unwrap().push(format!("{} {:?} {:?} {:?}", s.name(), s.parent_id(), s.status(), s.attributes()));
        }
        Ok(())
    }
}

#[telem::span(args, err)]
fn inner(x: u32) -> Result<u32, String> {
    if x > 1 { Err("too big".into()) } else { Ok(x) }
}

#[telem::span]
fn outer() -> u32 {
    inner(1).unwrap() + inner(2).unwrap_or(0)
}

#[test]
fn smoke() {
    let c = Collect::default();
    let t = telem::Builder::new().with_exporter("collect", c.clone()).exporter("store", false).init();
    outer();
    assert!(t.shutdown());
    let got = c.0.lock().unwrap().clone();
    println!("{got:#?}");
    assert_eq!(got.len(), 3);
    println!("{:?}", telem::stats());
}
