// Inner attributes in the body stay at the top of the body, for every expansion shape.
#![deny(unused)]

#[path = "../support/mod.rs"]
mod support;

#[telem::span]
fn plain() -> u32 {
    #![allow(unused)]
    let unused = 1;
    2
}

#[telem::span(err, ret)]
fn wrapped() -> Result<u32, String> {
    #![allow(unused_variables)]
    //! An inner doc comment is an inner attribute too.
    let unused = 1;
    Ok(2)
}

#[telem::span(args)]
async fn asynchronous(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

fn main() {
    assert_eq!(plain(), 2);
    assert_eq!(wrapped(), Ok(2));
    assert_eq!(support::block_on(asynchronous(3)), 3);
}
