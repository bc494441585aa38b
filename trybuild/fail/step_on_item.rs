// `#[step]` marks statements that run, not items: on a function or struct (alone, or inside a flow).
#[telem::step]
fn helper() {}

#[telem::step]
struct Order;

#[telem::flow]
fn flow() {
    #[step]
    fn inner() {}
    #[step]
    struct Local;
    inner();
}

fn main() {
    helper();
    let _ = Order;
    flow();
}
