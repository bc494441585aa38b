// `Entered` and `ContextGuard` restore their own thread's context when dropped: sending one to another
// thread would leave this thread pointing at a span that has ended.
fn assert_send<T: Send>(_: T) {}

fn main() {
    let mut span = telem::Span::start("s");
    assert_send(span.enter());
    let ctx = telem::Context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    assert_send(ctx.attach());
}
