// A free function with every option at once, run with the runtime on so the recording code executes.
#[path = "../support/mod.rs"]
mod support;

use telem::{SpanKind, Status, Value};

#[telem::span(
    name = "db.query",
    kind = client,
    fields(db.system = "sqlite", user.len = user.len(), limit),
    args,
    skip(password),
    err,
    ret,
    crate = ::telem
)]
pub fn query(user: &str, password: &str, limit: u32) -> Result<u32, String> {
    if password.is_empty() {
        Err(format!("no password for {user}"))
    } else {
        Ok(user.len() as u32 * limit)
    }
}

fn main() {
    // Without the runtime the function just runs.
    assert_eq!(query("ann", "pw", 2), Ok(6));
    assert_eq!(query("ann", "", 2), Err("no password for ann".to_owned()));

    let spans = support::collect(|| {
        assert_eq!(query("bob", "pw", 3), Ok(9));
        assert_eq!(query("bob", "", 3), Err("no password for bob".to_owned()));
    });
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (ok, failed) = (&spans[0], &spans[1]);
    for s in &spans {
        assert_eq!(s.name, "db.query");
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(s.attribute("db.system"), Some(&Value::from("sqlite")));
        assert_eq!(s.attribute("user.len"), Some(&Value::from(3u64)));
        assert_eq!(s.attribute("limit"), Some(&Value::from(3u32)));
        assert_eq!(s.attribute("user"), Some(&Value::from("\"bob\"".to_owned())));
        assert_eq!(s.attribute("password"), None, "skipped");
    }
    assert_eq!(ok.status, Status::Unset);
    assert_eq!(ok.attribute("return"), Some(&Value::from("9".to_owned())));
    assert_eq!(failed.status, Status::Error("no password for bob".into()));
    assert_eq!(failed.attribute("return"), None);
}
