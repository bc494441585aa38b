// An `async fn` body whose items or `use`s shadow a name of the return type (here a glob import of an
// enum variant named like the returned struct) means the same as without `#[span]`: the expansion's
// own mention of the return type is outside the block holding the body's statements.
#[path = "../support/mod.rs"]
mod support;

#[derive(Debug, PartialEq)]
pub struct Token(u8);

pub mod kinds {
    pub enum Kind {
        Token,
        Other,
    }
}

#[telem::span]
async fn classify(kind: kinds::Kind) -> Token {
    use kinds::Kind::*;
    match kind {
        Token => crate::Token(1),
        Other => crate::Token(2),
    }
}

#[telem::span(err, ret)]
async fn checked(kind: kinds::Kind) -> Result<Token, String> {
    use kinds::Kind::*;
    match kind {
        Token => Ok(crate::Token(1)),
        Other => Err("other".to_owned()),
    }
}

#[telem::span]
async fn item_shadows() -> Token {
    // A local item of the same name as the return type.
    #[allow(dead_code)]
    struct Token;
    crate::Token(3)
}

fn main() {
    assert_eq!(support::block_on(classify(kinds::Kind::Token)), Token(1));
    assert_eq!(support::block_on(classify(kinds::Kind::Other)), Token(2));
    assert_eq!(support::block_on(checked(kinds::Kind::Token)), Ok(Token(1)));
    assert_eq!(support::block_on(checked(kinds::Kind::Other)), Err("other".to_owned()));
    assert_eq!(support::block_on(item_shadows()), Token(3));
}
