// Signatures beyond the common ones: unsafe and extern fns, patterns and raw identifiers as arguments,
// `mut` arguments, outer attributes, visibility, recursion in a generic fn.
#[path = "../support/mod.rs"]
mod support;

#[telem::span(err)]
unsafe fn read(p: *const u8) -> Result<u8, String> {
    if p.is_null() {
        return Err("null".to_owned());
    }
    Ok(*p)
}

#[telem::span]
extern "C" fn callback(x: i32) -> i32 {
    x + 1
}

#[telem::span(args, ret)]
fn patterns((a, b): (u8, u8), Wrapper { inner }: Wrapper, [first, ..]: [u8; 3], _ignored: u8) -> u32 {
    a as u32 + b as u32 + inner + first as u32
}

#[derive(Debug)]
struct Wrapper {
    inner: u32,
}

#[telem::span(args, fields(kind = r#type, r#loop = count))]
fn raw(r#type: &str, mut count: u32) -> u32 {
    count += r#type.len() as u32;
    count
}

/// Doc comments and other outer attributes stay on the function.
#[inline]
#[must_use]
#[telem::span(name = "fact", args)]
pub(crate) fn fact<T: Into<u64> + Copy + std::fmt::Debug>(n: T) -> u64 {
    let n: u64 = n.into();
    if n == 0 {
        1
    } else {
        n * fact(n - 1)
    }
}

fn main() {
    let x = 5u8;
    assert_eq!(unsafe { read(&x) }, Ok(5));
    assert_eq!(unsafe { read(std::ptr::null()) }, Err("null".to_owned()));
    assert_eq!(callback(1), 2);
    let f: extern "C" fn(i32) -> i32 = callback;
    assert_eq!(f(2), 3);
    assert_eq!(patterns((1, 2), Wrapper { inner: 3 }, [4, 5, 6], 0), 10);
    assert_eq!(raw("ab", 1), 3);
    assert_eq!(fact(5u8), 120);

    let spans = support::collect(|| {
        assert_eq!(patterns((1, 2), Wrapper { inner: 3 }, [4, 5, 6], 9), 10);
        assert_eq!(raw("ab", 1), 3);
        assert_eq!(fact(2u8), 2);
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["patterns", "raw", "fact", "fact", "fact"]);
    let keys = |i: usize| spans[i].attributes.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>();
    assert_eq!(keys(0), ["a", "b", "inner", "first", "_ignored", "return"]);
    assert_eq!(keys(1), ["type", "count", "kind", "loop"]);
    assert_eq!(spans[1].attribute("count"), Some(&telem::Value::from("1".to_owned())));
}
