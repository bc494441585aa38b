// Unsorted, duplicate, non-literal and empty bucket lists; each error on its own token.
#[telem::counted(buckets = [0.1, 0.01])]
fn unsorted() {}

#[telem::counted(buckets = [0.1, 0.1])]
fn duplicate() {}

const B: f64 = 1.0;
#[telem::counted(duration, buckets = [0.5, B])]
fn not_literal() {}

#[telem::counted(buckets = [])]
fn empty() {}

fn main() {}
