// A type whose name ends in `Result` is not a `Result`: `err` on it fails, and the error points at `err`.
struct SearchResult {
    hits: u32,
}

#[telem::span(err)]
fn f() -> SearchResult {
    SearchResult { hits: 1 }
}

fn main() {
    let _ = f().hits;
}
