// `fields(...)`: shorthand, dotted keys, keyword parts, string keys, ToValue and Debug values.
#[path = "../support/mod.rs"]
mod support;

use telem::Value;

#[derive(Debug)]
struct Req {
    path: String,
}

#[telem::span(fields(http.method = "GET", n, http.route = req.path.as_str(), "http.status_code" = 200, msg.type = "q", req.debug = req, ok = true, count = n as i64 - 10))]
fn handle(req: &Req, n: u32) -> u32 {
    n + req.path.len() as u32
}

fn main() {
    let req = Req { path: "/a".to_owned() };
    assert_eq!(handle(&req, 1), 3);

    let spans = support::collect(|| {
        assert_eq!(handle(&req, 4), 6);
    });
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.attribute("http.method"), Some(&Value::from("GET")));
    assert_eq!(s.attribute("n"), Some(&Value::from(4u32)));
    assert_eq!(s.attribute("http.route"), Some(&Value::from("/a".to_owned())));
    assert_eq!(s.attribute("http.status_code"), Some(&Value::from(200)));
    assert_eq!(s.attribute("msg.type"), Some(&Value::from("q")));
    assert_eq!(s.attribute("req.debug"), Some(&Value::from("Req { path: \"/a\" }".to_owned())));
    assert_eq!(s.attribute("ok"), Some(&Value::from(true)));
    assert_eq!(s.attribute("count"), Some(&Value::from(-6i64)));
}
