// A sync flow with every kind of step: `let` (its bindings used after it), expression statements,
// `?`, a loop, nested blocks and match arms, a named step with fields, and a `let … else`.
#[path = "../support/mod.rs"]
mod support;

#[derive(Debug)]
struct Order {
    items: Vec<u32>,
}

fn price(item: u32) -> Result<u32, String> {
    if item == 0 { Err("item 0 has no price".to_owned()) } else { Ok(item * 10) }
}

#[telem::flow]
fn checkout(order: &Order, coupon: Option<&str>) -> Result<u32, String> {
    #[step("validate")]
    let count = order.items.len();
    let mut total = 0;
    for item in &order.items {
        #[step(name = "price", fields(item = *item))]
        total += price(*item)?;
    }
    if count > 2 {
        #[step]
        total -= 1;
    }
    match coupon {
        Some(code) => {
            #[step("coupon")]
            let Some(off) = code.strip_prefix("OFF") else { return Err(format!("bad coupon {code}")) };
            #[step]
            {
                total -= off.parse::<u32>().map_err(|e| e.to_string())?;
            }
        }
        None => {
            #[step("no coupon")]
            total += 0;
        }
    }
    let mut tries = 0;
    while tries < 2 {
        #[step("retry")]
        tries += 1;
    }
    loop {
        #[step("again")]
        tries += 1;
        if tries > 3 {
            break;
        }
    }
    #[step]
    Ok(total)
}

fn main() {
    let spans = support::collect(|| {
        assert_eq!(checkout(&Order { items: vec![1, 2, 3] }, Some("OFF5")), Ok(54));
        assert_eq!(checkout(&Order { items: vec![1, 0] }, None), Err("item 0 has no price".to_owned()));
    });
    let prices: Vec<_> = spans.iter().filter(|s| s.name == "price").collect();
    assert_eq!(prices.len(), 5);
    assert!(matches!(prices[4].status, telem::Status::Error(_)), "{:?}", prices[4]);
    let root = &spans.iter().filter(|s| s.name == "checkout").collect::<Vec<_>>()[0];
    assert!(spans.iter().filter(|s| s.name == "validate").all(|s| s.parent_id.is_some()));
    // Unnamed steps are `<flow>/step[<index>]`, the index counting every step of the flow in source order.
    assert!(spans.iter().any(|s| s.name == "checkout/step[4]" && s.parent_id == Some(root.span_id)));
    let retries: Vec<_> = spans.iter().filter(|s| s.name == "retry").map(|s| s.attribute("step.iteration")).collect();
    assert_eq!(retries, [Some(&telem::Value::U64(0)), Some(&telem::Value::U64(1))]);
}
