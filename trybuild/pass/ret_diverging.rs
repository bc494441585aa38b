#![deny(warnings)]

#[telem::span(ret)]
fn exit() -> ! {
    std::process::exit(0)
}

fn main() {
    exit()
}
