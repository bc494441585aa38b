// Flows as inherent methods (`&self`, `&mut self`), trait-impl methods, and with `parent = ` (a
// `Context`, a reference, `None`) and `links(…)`.
#[path = "../support/mod.rs"]
mod support;

struct Cart {
    items: Vec<u32>,
}

trait Checkout {
    fn checkout(&mut self) -> u32;
}

impl Cart {
    #[telem::flow(fields(n = self.items.len()))]
    fn total(&self) -> u32 {
        #[step]
        let sum = self.items.iter().sum();
        sum
    }

    #[telem::flow(parent = ctx, links(link))]
    fn continued(&self, ctx: &telem::Context, link: Option<telem::Context>) -> u32 {
        #[step("count")]
        let n = self.items.len() as u32;
        n
    }

    #[telem::flow(parent = None)]
    fn detached(&mut self) {
        #[step]
        self.items.clear();
    }
}

impl Checkout for Cart {
    #[telem::flow(kind = server)]
    fn checkout(&mut self) -> u32 {
        #[step]
        let total = self.total();
        #[step]
        self.items.push(total);
        total
    }
}

#[telem::span(parent = parent.clone(), links(&parent, None::<telem::Context>))]
fn plain(parent: Option<telem::Context>) {}

fn main() {
    let ctx = telem::Context::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    let spans = support::collect(|| {
        let mut cart = Cart { items: vec![1, 2] };
        assert_eq!(cart.checkout(), 3);
        assert_eq!(cart.continued(&ctx, Some(ctx.clone())), 3);
        plain(Some(ctx.clone()));
        cart.detached();
        assert!(cart.items.is_empty());
    });
    let total = support::named(&spans, "total");
    let checkout = support::named(&spans, "checkout");
    let step = support::named(&spans, "checkout/step[0]");
    assert_eq!(step.parent_id, Some(checkout.span_id));
    assert_eq!(total.parent_id, Some(step.span_id), "a flow called inside a step is a sub-flow under it");
    let continued = support::named(&spans, "continued");
    assert_eq!(continued.parent_id, Some(ctx.span_id));
    assert_eq!(support::named(&spans, "plain").parent_id, Some(ctx.span_id));
    assert_eq!(support::named(&spans, "detached").parent_id, None);
}
