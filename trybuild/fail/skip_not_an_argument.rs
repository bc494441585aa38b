#[telem::span(args, skip(x))]
fn login(user: &str, password: &str) {
    let _ = (user, password);
}

fn main() {}
