// A panic in a sync `#[span]` function marks its span failed with the panic's own message: the body
// runs through the guard, which reads the payload (whatever hook the application installs). `#[track_caller]` functions
// keep their caller's location, so their body cannot run in a closure: their span only sees the
// unwind and says `panicked`.
#[path = "../support/mod.rs"]
mod support;

use std::panic::{catch_unwind, Location};
use telem::Status;

#[telem::span]
fn boom(x: u8) -> u8 {
    if x == 0 {
        panic!("boom {x}");
    }
    x
}

#[telem::span(err, ret)]
fn boom_result(fail: bool) -> Result<u8, String> {
    if fail {
        panic!("result boom");
    }
    Ok(1)
}

#[telem::span]
fn boom_unit() {
    std::panic::resume_unwind(Box::new("resumed"));
}

#[track_caller]
#[telem::span]
fn here() -> &'static Location<'static> {
    Location::caller()
}

#[track_caller]
#[telem::span]
fn boom_tracked() {
    panic!("tracked");
}

fn main() {
    let (location, line) = (here(), line!());
    assert_eq!((location.file(), location.line()), (file!(), line), "#[track_caller] is kept");

    let spans = support::collect(|| {
        // An application hook installed after `init` that does not chain (color-eyre, human-panic):
        // the message must come from the payload, not from a hook.
        std::panic::set_hook(Box::new(|_| {}));
        assert_eq!(boom(1), 1);
        assert!(catch_unwind(|| boom(0)).is_err());
        assert!(catch_unwind(|| boom_result(true)).is_err());
        assert!(catch_unwind(boom_unit).is_err());
        assert!(catch_unwind(boom_tracked).is_err());
    });
    drop(std::panic::take_hook()); // the default hook again, for the assertions below
    let status: Vec<_> = spans.iter().map(|s| (s.name.as_str(), s.status.clone())).collect();
    assert_eq!(
        status,
        [
            ("boom", Status::Unset),
            ("boom", Status::Error("boom 0".into())),
            ("boom_result", Status::Error("result boom".into())),
            ("boom_unit", Status::Error("resumed".into())),
            ("boom_tracked", Status::Error("panicked".into())),
        ]
    );
}
