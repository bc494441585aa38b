#[telem::span(skip(password))]
fn login(user: &str, password: &str) {
    let _ = (user, password);
}

fn main() {}
