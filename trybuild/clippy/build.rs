//! Checks that every program under `trybuild/pass/` is a binary of this crate, so the clippy pass in
//! `.ci/run` covers each shape the UI tests compile.

use std::path::Path;

fn main() {
    let pass = Path::new("../pass");
    println!("cargo:rerun-if-changed=../pass");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let manifest = std::fs::read_to_string("Cargo.toml").expect("read Cargo.toml");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(pass).expect("read trybuild/pass") {
        let path = entry.expect("read trybuild/pass").path();
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let program = path.extension().is_some_and(|e| e == "rs");
        if program && !manifest.contains(&format!("path = \"../pass/{name}\"")) {
            missing.push(name);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "trybuild/clippy/Cargo.toml has no [[bin]] for these trybuild/pass programs: {}",
        missing.join(", ")
    );
}
