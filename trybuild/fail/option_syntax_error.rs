// An option that is not valid syntax does not hide the problems of the others.
#[telem::span(kind = client server, bogus, err)]
fn f() -> u32 {
    1
}

fn main() {}
