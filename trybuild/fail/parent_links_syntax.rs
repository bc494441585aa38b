// `parent` takes an expression and `links` a list of them; a value that is not a context is reported
// on the expression.
#[telem::span(parent)]
fn a() {}

#[telem::flow(links = _ctx)]
fn b(_ctx: telem::Context) {}

#[telem::flow(links())]
fn c() {}

#[telem::span(parent(_ctx))]
fn d(_ctx: telem::Context) {}

#[telem::flow(links(_ctx,, _ctx))]
fn e(_ctx: telem::Context) {}

#[telem::flow(parent = 5, links("ctx"))]
fn f() {}

fn main() {}
