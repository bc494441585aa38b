// Generic functions: type, lifetime and const parameters, where-clauses, `impl Trait` arguments.
use std::fmt::Debug;

#[telem::span(args, ret)]
fn join<T, U>(items: &[T], sep: U) -> String
where
    T: Debug,
    U: AsRef<str> + Debug,
{
    items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(sep.as_ref())
}

#[telem::span(err, fields(n = N))]
fn first<'a, T: Clone + 'a, const N: usize>(xs: &'a [T; N]) -> Result<&'a T, String>
where
    T: PartialEq,
{
    xs.first().ok_or_else(|| "empty".to_owned())
}

#[telem::span(args)]
fn total(xs: impl IntoIterator<Item = u32> + Debug) -> u32 {
    xs.into_iter().sum()
}

#[telem::span(ret)]
fn largest<T>(a: T, b: T) -> T
where
    T: PartialOrd + Debug,
{
    if a > b {
        a
    } else {
        b
    }
}

fn main() {
    assert_eq!(join(&[1, 2, 3], ", "), "1, 2, 3");
    assert_eq!(join::<&str, String>(&["a"], String::new()), "\"a\"");
    assert_eq!(first(&[7, 8]), Ok(&7));
    assert_eq!(first::<u8, 0>(&[]), Err("empty".to_owned()));
    assert_eq!(total(vec![1, 2, 3]), 6);
    assert_eq!(largest("a", "b"), "b");
}
