// An `async fn` returning `()` whose body ends in a value: the error points at that value, as without
// `#[span]`, not at the attribute.
#[telem::span]
async fn save(v: &mut Vec<u8>) {
    v.push(1);
    v.len()
}

#[telem::span]
fn save_sync(v: &mut Vec<u8>) {
    v.push(1);
    v.len()
}

fn main() {
    let _ = save(&mut Vec::new());
    save_sync(&mut Vec::new());
}
