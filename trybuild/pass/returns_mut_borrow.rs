// `err` and `ret` on functions returning a `&mut` borrowed from an argument: the body runs in a
// closure called once, so the borrow can escape it.
#[path = "../support/mod.rs"]
mod support;

struct S {
    v: Vec<u32>,
}

impl S {
    #[telem::span(err)]
    fn first_mut(&mut self) -> Result<&mut u32, String> {
        self.v.first_mut().ok_or_else(|| "empty".to_owned())
    }

    #[telem::span(ret, err)]
    fn last_mut(&mut self) -> Result<&mut u32, String> {
        self.v.last_mut().ok_or_else(|| "empty".to_owned())
    }
}

#[telem::span(ret)]
fn push(v: &mut Vec<u32>) -> &mut u32 {
    v.push(1);
    v.last_mut().unwrap()
}

#[telem::span(ret)]
fn pick<'a>(a: &'a mut String, b: &'a mut String, first: bool) -> &'a mut String {
    if first {
        a
    } else {
        b
    }
}

fn main() {
    let mut s = S { v: vec![1] };
    *s.first_mut().unwrap() += 1;
    assert_eq!(s.v, [2]);
    *s.last_mut().unwrap() += 1;
    assert_eq!(s.v, [3]);
    assert_eq!(S { v: vec![] }.first_mut(), Err("empty".to_owned()));

    let mut v = vec![];
    *push(&mut v) = 3;
    assert_eq!(v, [3]);
    let (mut a, mut b) = (String::new(), String::new());
    pick(&mut a, &mut b, false).push('b');
    assert_eq!((a.as_str(), b.as_str()), ("", "b"));

    let spans = support::collect(|| {
        let mut v = vec![7];
        *push(&mut v) += 1;
        let mut s = S { v };
        assert_eq!(s.last_mut(), Ok(&mut 2));
    });
    let ret: Vec<_> = spans.iter().map(|s| (s.name.as_str(), s.attribute("return").cloned())).collect();
    assert_eq!(
        ret,
        [("push", Some(telem::Value::from("1".to_owned()))), ("last_mut", Some(telem::Value::from("2".to_owned())))]
    );
}
