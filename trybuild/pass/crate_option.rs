// `crate = path`: telem reached through a re-export, under another name, or spelled as a string.
mod reexport {
    pub use ::telem as instrument;
}

mod inner {
    #[telem::span(crate = crate::reexport::instrument, err, ret)]
    pub fn a(x: u8) -> Result<u8, String> {
        x.checked_add(1).ok_or_else(|| "overflow".to_owned())
    }

    #[telem::span(crate = ::telem, fields(x))]
    pub fn b(x: u8) -> u8 {
        x
    }

    #[telem::span(crate = "super::reexport::instrument", ret)]
    pub async fn c() -> u8 {
        3
    }
}

fn main() {
    assert_eq!(inner::a(1), Ok(2));
    assert_eq!(inner::a(255), Err("overflow".to_owned()));
    assert_eq!(inner::b(5), 5);
    let _future = inner::c();
}
