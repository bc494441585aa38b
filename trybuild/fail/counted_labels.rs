// Label values are literals; `function`, `module` and `result` are set by the macro; no key twice.
const TIER: &str = "gold";

#[telem::counted(labels(tier = TIER))]
fn not_literal() {}

#[telem::counted(labels(result = "ok"))]
fn reserved() {}

#[telem::counted(labels(a = "1", a = "2"), name = 3, concurrency = true)]
fn several() {}

fn main() {}
