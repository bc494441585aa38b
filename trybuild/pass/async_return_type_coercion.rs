#[path = "../support/mod.rs"]
mod support;

use std::fmt::Debug;

#[telem::span]
async fn plain(flag: bool) -> Box<dyn Debug> {
    if flag {
        Box::new(1)
    } else {
        Box::new("a")
    }
}

#[telem::span(err)]
async fn early(flag: bool) -> Result<Box<dyn Debug>, String> {
    if flag {
        return Ok(Box::new(1));
    }
    Ok(Box::new("a"))
}

fn main() {
    assert_eq!(format!("{:?}", support::block_on(plain(false))), "\"a\"");
    assert_eq!(format!("{:?}", support::block_on(early(true)).unwrap()), "1");
}
