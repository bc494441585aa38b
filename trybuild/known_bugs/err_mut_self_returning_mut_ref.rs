// KNOWN MACRO BUG (not run by tests/ui.rs; move to ../pass/ once fixed).
// `err` on `&mut self -> Result<&mut T, E>`: the `move ||` closure is inferred FnMut, so:
// error: captured variable cannot escape `FnMut` closure body.
struct S { v: Vec<u32> }
impl S {
    #[telem::span(err)]
    fn first_mut(&mut self) -> Result<&mut u32, String> {
        self.v.first_mut().ok_or_else(|| "empty".to_owned())
    }
}
fn main() { let mut s = S { v: vec![1] }; *s.first_mut().unwrap() += 1; assert_eq!(s.v, [2]); }
