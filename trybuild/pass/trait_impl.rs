// Methods of trait impls, a trait's default method, and a generic impl.
use std::fmt::Debug;

trait Shape {
    fn area(&self) -> f64;
    fn scale(&mut self, k: f64);
    fn describe(&self) -> String;

    #[telem::span(ret)]
    fn double_area(&self) -> f64 {
        2.0 * self.area()
    }
}

#[derive(Debug)]
struct Square(f64);

impl Shape for Square {
    #[telem::span(ret)]
    fn area(&self) -> f64 {
        self.0 * self.0
    }

    #[telem::span(args)]
    fn scale(&mut self, k: f64) {
        self.0 *= k;
    }

    #[telem::span(name = "square.describe", kind = internal)]
    fn describe(&self) -> String {
        format!("square {}", self.0)
    }
}

#[derive(Debug)]
struct Wrapper<T>(T);

impl<T: Debug> std::fmt::Display for Wrapper<T> {
    #[telem::span(args, skip(f))]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{:?}>", self.0)
    }
}

impl<T: Clone> Iterator for Wrapper<Vec<T>> {
    type Item = T;

    #[telem::span]
    fn next(&mut self) -> Option<T> {
        self.0.pop()
    }
}

fn main() {
    let mut s = Square(2.0);
    assert_eq!(s.area(), 4.0);
    s.scale(1.5);
    assert_eq!(s.area(), 9.0);
    assert_eq!(s.double_area(), 18.0);
    assert_eq!(s.describe(), "square 3");
    let shapes: Vec<Box<dyn Shape>> = vec![Box::new(Square(1.0))];
    assert_eq!(shapes[0].area(), 1.0);
    assert_eq!(Wrapper(3).to_string(), "<3>");
    assert_eq!(Wrapper(vec![1, 2]).collect::<Vec<_>>(), vec![2, 1]);
}
