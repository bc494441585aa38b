// `async fn`: free, with options, as methods, generic; driven by a tiny block_on.
#[path = "../support/mod.rs"]
mod support;
use support::block_on;

#[telem::span]
async fn plain() -> u32 {
    1
}

#[telem::span]
async fn unit(v: &mut Vec<u32>) {
    v.push(1);
}

#[telem::span(args, err, ret)]
async fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    let n: u32 = s.trim().parse()?;
    Ok(n + plain().await)
}

#[telem::span(kind = server, fields(path), ret)]
async fn handle<'a>(path: &'a str) -> &'a str {
    if path.is_empty() {
        return "/";
    }
    path
}

struct Db {
    rows: Vec<u32>,
}

impl Db {
    #[telem::span(ret)]
    async fn count(&self) -> usize {
        self.rows.len()
    }

    #[telem::span(args, err)]
    async fn insert(&mut self, row: u32) -> Result<(), String> {
        if self.rows.contains(&row) {
            return Err(format!("duplicate {row}"));
        }
        self.rows.push(row);
        Ok(())
    }

    #[telem::span]
    async fn into_rows(self) -> Vec<u32> {
        self.rows
    }

    #[telem::span]
    async fn first_mut(&mut self) -> Option<&mut u32> {
        self.rows.first_mut()
    }
}

// `async fn` in a trait impl (stable since 1.75).
trait Service {
    async fn call(&self, req: u32) -> Result<u32, String>;
}

impl Service for Db {
    #[telem::span(kind = server, args, err)]
    async fn call(&self, req: u32) -> Result<u32, String> {
        self.rows.get(req as usize).copied().ok_or_else(|| format!("no row {req}"))
    }
}

#[telem::span(args)]
async fn generic<T: std::fmt::Debug + Send>(x: T) -> T
where
    T: Clone,
{
    x.clone()
}

fn require_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    assert_eq!(block_on(plain()), 1);
    let mut v = vec![];
    block_on(unit(&mut v));
    assert_eq!(v, [1]);
    assert_eq!(block_on(parse(" 41 ")), Ok(42));
    assert!(block_on(parse("x")).is_err());
    assert_eq!(block_on(handle("")), "/");
    assert_eq!(block_on(handle("/a")), "/a");
    let mut db = Db { rows: vec![] };
    assert_eq!(block_on(require_send(db.insert(1))), Ok(()));
    assert_eq!(block_on(db.insert(1)), Err("duplicate 1".to_owned()));
    assert_eq!(block_on(require_send(db.count())), 1);
    *block_on(db.first_mut()).unwrap() = 7;
    assert_eq!(block_on(db.call(0)), Ok(7));
    assert_eq!(block_on(db.call(1)), Err("no row 1".to_owned()));
    assert_eq!(block_on(db.into_rows()), [7]);
    assert_eq!(block_on(require_send(generic("g"))), "g");

    // And with the runtime on: the span covers the future and records what it returned.
    let spans = support::collect(|| {
        assert_eq!(block_on(parse("1")), Ok(2));
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["plain", "parse"]);
    assert_eq!(spans[1].attribute("return"), Some(&telem::Value::from("2".to_owned())));
}
