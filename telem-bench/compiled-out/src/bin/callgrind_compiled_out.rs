//! Calls one compiled-out case N times, for counting instructions under callgrind (see
//! `telem-bench/callgrind.sh`):
//!
//! ```text
//! callgrind_compiled_out <plain|telem> <N>
//! ```

use std::hint::black_box;
use telem_bench_compiled_out as b;

/// The measured loop; `callgrind.sh` reads its inclusive cost for the calling-thread figure.
#[inline(never)]
fn hot_loop(n: u64, f: fn()) {
    for _ in 0..black_box(n) {
        f();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(case), Some(n)) = (args.next(), args.next().and_then(|n| n.replace('_', "").parse::<u64>().ok())) else {
        eprintln!("usage: callgrind_compiled_out <plain|telem> <N>");
        std::process::exit(2);
    };
    let _telem = b::start_and_check();
    match case.as_str() {
        "plain" => hot_loop(n, b::plain),
        "telem" => hot_loop(n, b::telem_span),
        other => {
            eprintln!("unknown case `{other}`");
            std::process::exit(2);
        }
    }
}
