#[telem::counted(durations)]
fn f() {}

fn main() {}
