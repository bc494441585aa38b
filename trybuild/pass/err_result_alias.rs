// `err` on `Result` aliases, whatever their name: the macro cannot see through an alias, so only types
// that certainly are not a `Result` are rejected.
#[path = "../support/mod.rs"]
mod support;

type Fallible<T> = Result<T, String>;

mod errors {
    pub type Outcome = Result<u32, std::num::ParseIntError>;
}

#[telem::span(err)]
fn f(ok: bool) -> Fallible<u32> {
    if ok {
        Ok(1)
    } else {
        Err("bad".to_owned())
    }
}

#[telem::span(err, ret)]
fn parse(s: &str) -> errors::Outcome {
    s.parse()
}

#[telem::span(err)]
fn io() -> std::io::Result<()> {
    Ok(())
}

#[telem::span(err)]
async fn later() -> Fallible<()> {
    Err("later".to_owned())
}

fn main() {
    assert_eq!(f(true), Ok(1));
    assert_eq!(f(false), Err("bad".to_owned()));
    assert_eq!(parse("3"), Ok(3));
    assert!(io().is_ok());

    let spans = support::collect(|| {
        let _ = f(false);
        let _ = parse("x");
        let _ = support::block_on(later());
    });
    let status: Vec<_> = spans.iter().map(|s| (s.name.as_str(), s.status.clone())).collect();
    assert_eq!(
        status,
        [
            ("f", telem::Status::Error("bad".into())),
            ("parse", telem::Status::Error("invalid digit found in string".into())),
            ("later", telem::Status::Error("later".into())),
        ]
    );
}
