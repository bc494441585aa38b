//! Attribute macros of telem. Use them through the `telem` crate (`#[telem::span]`, `#[telem::flow]`):
//! they expand to paths under `::telem::__private`.
//!
//! The crate is split the way the work flows: [`attr`] parses the options, [`func`] reads the shape of
//! the annotated function, [`valid`] rejects misuse with errors on the offending tokens (all of them,
//! not only the first), [`steps`] finds and rewrites a flow's `#[step]` statements, and [`expand`]
//! writes the instrumented function. A flow is a span whose body had its steps rewritten first.

mod attr;
mod counted;
mod expand;
mod func;
mod steps;
mod valid;

use proc_macro::TokenStream;

/// Records each call of a function as a span. See the `telem` crate for the options.
#[proc_macro_attribute]
pub fn span(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Span, args.into(), item.into(), cfg!(feature = "enabled")).into()
}

/// Records each call of a function as a flow: a span whose `#[step]` statements are child spans.
/// See the `telem` crate.
#[proc_macro_attribute]
pub fn flow(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument(Macro::Flow, args.into(), item.into(), cfg!(feature = "enabled")).into()
}

/// Counts each call of a function as metrics: `function.calls` (labels `function`, `module`, and
/// `result` for `Result` functions), optionally its duration and the calls in flight. See the `telem`
/// crate.
#[proc_macro_attribute]
pub fn counted(args: TokenStream, item: TokenStream) -> TokenStream {
    counted::counted(args.into(), item.into(), cfg!(feature = "enabled")).into()
}

/// `#[step]` is read by the `#[flow]` around it, which removes it. This macro runs only where no flow
/// did, so all it does is say so, on the attribute.
#[proc_macro_attribute]
pub fn step(_args: TokenStream, item: TokenStream) -> TokenStream {
    let mut out: proc_macro2::TokenStream = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[step]` only works on statements inside a `#[telem::flow]` function",
    )
    .to_compile_error();
    out.extend(proc_macro2::TokenStream::from(item));
    out.into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Macro {
    Span,
    Flow,
}

/// `span_impl` and `flow_impl` for the unit tests.
#[cfg(test)]
fn span_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
    enabled: bool,
) -> proc_macro2::TokenStream {
    instrument(Macro::Span, args, item, enabled)
}

#[cfg(test)]
fn flow_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
    enabled: bool,
) -> proc_macro2::TokenStream {
    instrument(Macro::Flow, args, item, enabled)
}

/// `#[span]` and `#[flow]` without the `proc_macro` types, so unit tests can call them. With `enabled`
/// false the item comes back token for token once its options are known to be valid (a flow's
/// `#[step]` attributes removed: nothing else would read them).
fn instrument(
    what: Macro,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
    enabled: bool,
) -> proc_macro2::TokenStream {
    let label = match what {
        Macro::Span => "span",
        Macro::Flow => "flow",
    };
    let mut errors = valid::Errors::default();
    let options = attr::parse(args, &mut errors);
    let mut func = func::parse(item.clone(), &mut errors, label);
    // The body without its `#[step]` attributes, when it had any (for a flow, rewritten when enabled).
    let mut stripped = None;
    if let Some(func) = &mut func {
        valid::check(&options, func, &mut errors, label);
        let mut original = func.block.clone();
        let found;
        match what {
            Macro::Span => found = steps::reject(&mut original, &mut errors),
            Macro::Flow => {
                let krate = match &options.krate {
                    Some(path) => quote::quote!(#path),
                    None => quote::quote!(::telem),
                };
                let p = quote::quote!(#krate::__private);
                let name = options.name.as_ref().map_or_else(|| func.sig.ident.to_string(), syn::LitStr::value);
                let is_async = func.shape == func::Shape::AsyncFn;
                let future_tail = matches!(func.shape, func::Shape::ImplFuture | func::Shape::BoxedFuture);
                let check = steps::Flow { name: name.clone(), p: &p, is_async, future_tail, expand: false };
                found = steps::rewrite(&check, &mut original, &mut errors);
                if enabled {
                    // The same walk again, rewriting (its errors are the ones just collected).
                    let flow = steps::Flow { name, p: &p, is_async, future_tail, expand: true };
                    steps::rewrite(&flow, &mut func.block, &mut valid::Errors::default());
                }
            }
        }
        stripped = found.then_some(original);
    }
    // The item as written, with the steps' attributes gone when there were any.
    let plain = |func: Option<func::Func>, stripped: Option<syn::Block>| match (func, stripped) {
        (Some(func), Some(block)) => {
            let func::Func { outer_attrs, inner_attrs, vis, sig, .. } = func;
            let stmts = &block.stmts;
            quote::quote! { #(#outer_attrs)* #vis #sig { #(#inner_attrs)* #(#stmts)* } }
        }
        _ => item.clone(),
    };
    match (errors.into_result(), func) {
        (Err(e), func) => {
            let mut out = e.to_compile_error();
            out.extend(plain(func, stripped));
            out
        }
        (Ok(()), Some(func)) if enabled => expand::span(&options, func),
        (Ok(()), func) => plain(func, stripped),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    #[test]
    fn disabled_returns_the_item_token_for_token() {
        let item = quote! {
            #[inline]
            pub async fn query<T: Clone>(&self, user: &str, n: usize) -> Result<Vec<T>, Error> where T: Send {
                let rows = self.db.get(user, n).await?;
                Ok(rows)
            }
        };
        let args = quote! { name = "db.query", kind = client, fields(rows = n), args, skip(user), err, ret };
        let out = super::span_impl(args, item.clone(), false);
        assert_eq!(out.to_string(), item.to_string());
    }

    #[test]
    fn disabled_flow_returns_the_item_without_its_step_attributes() {
        let item = quote! {
            #[inline]
            pub async fn pay(&self, order: &Order) -> Result<u32, Error> {
                #[step("load")]
                let items = self.db.load(order).await?;
                for item in &items {
                    #[step(name = "price", fields(item = item.id))]
                    self.price(item)?;
                }
                #[telem::step]
                Ok(items.len() as u32)
            }
        };
        let expected = quote! {
            #[inline]
            pub async fn pay(&self, order: &Order) -> Result<u32, Error> {
                let items = self.db.load(order).await?;
                for item in &items {
                    self.price(item)?;
                }
                Ok(items.len() as u32)
            }
        };
        let args =
            quote! { name = "pay", kind = server, fields(order = order.id), err, parent = None, links(&self.ctx) };
        let out = super::flow_impl(args, item, false);
        assert_eq!(out.to_string(), expected.to_string());
        // Without steps the item comes back token for token.
        let plain = quote! { fn f(x: u8) -> u8 { let y = x; y } };
        assert_eq!(super::flow_impl(quote! {}, plain.clone(), false).to_string(), plain.to_string());
    }

    #[test]
    fn disabled_flow_still_reports_misplaced_steps() {
        let item = quote! { fn f() { let g = || { #[step] let x = 1; x }; g(); } };
        let out = super::flow_impl(quote! {}, item, false).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(!out.contains("# [step]"), "the attribute is removed: {out}");
    }

    #[test]
    fn steps_become_guards_named_after_the_flow() {
        let item = quote! { fn f(xs: &[u8]) -> Option<u8> { for x in xs { #[step] let y = x.checked_add(1)?; } #[step("end")] Some(0) } };
        let out = super::flow_impl(quote! {}, item, true).to_string();
        assert!(out.contains("StepGuard :: enter_iteration"), "{out}");
        assert!(out.contains("\"f/step[0]\""), "{out}");
        assert!(out.contains("\"end\""), "{out}");
        assert!(out.contains("__telem_check (& mut __telem_step_0)"), "{out}");
        assert!(!out.contains("# [step"), "{out}");
    }

    #[test]
    fn step_in_a_span_is_an_error_suggesting_flow() {
        let out = super::span_impl(quote! {}, quote! { fn f() { #[step] let x = 1; } }, true).to_string();
        assert!(out.contains("use `#[telem::flow]` instead"), "{out}");
    }

    #[test]
    fn enabled_rewrites_the_body() {
        let item = quote! { fn parse(input: &str) -> usize { input.len() } };
        let out = super::span_impl(quote! {}, item.clone(), true).to_string();
        assert_ne!(out, item.to_string());
        assert!(out.contains("SpanGuard"), "{out}");
    }

    #[test]
    fn disabled_still_reports_misuse() {
        let out = super::span_impl(quote! { bogus }, quote! { fn f() {} }, false).to_string();
        assert!(out.contains("compile_error"), "{out}");
    }

    fn shape(item: proc_macro2::TokenStream) -> crate::func::Shape {
        let mut errors = crate::valid::Errors::default();
        crate::func::parse(item, &mut errors, "span").expect("a function").shape
    }

    #[test]
    fn a_box_pin_async_tail_is_a_boxed_future_whatever_the_return_type() {
        use crate::func::Shape;
        let aliased = quote! { fn get(&self) -> BoxFuture<'_, usize> { Box::pin(async move { self.n }) } };
        assert_eq!(shape(aliased), Shape::BoxedFuture);
        let spelled = quote! { fn get(&self) -> Pin<Box<dyn Future<Output = u8> + '_>> { Box::pin(async { 1 }) } };
        assert_eq!(shape(spelled), Shape::BoxedFuture);
        // `Box::pin` of something that is not an async block proves nothing about the return type.
        let pinned_string = quote! { fn s() -> Pin<Box<String>> { Box::pin(String::new()) } };
        assert_eq!(shape(pinned_string), Shape::Sync);
        let not_tail = quote! { fn f() -> Fut { let f = Box::pin(async {}); f } };
        assert_eq!(shape(not_tail), Shape::Sync);
    }

    #[test]
    fn sync_bodies_run_through_the_guard_except_with_track_caller() {
        // Nothing but the span: one call that starts, runs and ends it.
        let out = super::span_impl(quote! {}, quote! { fn f() -> u8 { 1 } }, true).to_string();
        assert!(out.contains(":: SpanGuard :: run_span ({"), "{out}");
        assert!(out.contains("& __TELEM_SITE } , move || -> u8 { 1 })"), "{out}");
        // With more to do after the body, a guard runs it and ends the span inline where it returns.
        let out = super::span_impl(quote! { ret }, quote! { fn f() -> u8 { 1 } }, true).to_string();
        assert!(out.contains("__telem_span . run (move || -> u8 { 1 })"), "{out}");
        assert!(out.contains("__telem_span . close () ;"), "{out}");
        let out = super::span_impl(quote! {}, quote! { #[track_caller] fn f() -> u8 { 1 } }, true).to_string();
        assert!(!out.contains(". run"), "{out}");
    }

    #[test]
    fn declared_types_write_underscore_for_impl_trait_and_unit_for_none() {
        let out = super::span_impl(quote! {}, quote! { fn f() -> Box<impl Display> { Box::new(1) } }, true);
        assert!(out.to_string().contains("-> Box < _ >"), "{out}");
        let out = super::span_impl(quote! {}, quote! { fn f() -> impl Display { 1 } }, true).to_string();
        assert!(out.contains("move || { 1 }"), "{out}");
        let out = super::span_impl(quote! {}, quote! { async fn f() {} }, true).to_string();
        assert!(out.contains("let __telem_declared : () = loop { } ;"), "{out}");
    }

    #[test]
    fn unit_and_never_returns_bind_no_return_value() {
        let unit = super::span_impl(quote! { ret }, quote! { fn f() {} }, true).to_string();
        assert!(!unit.contains("let __telem_ret"), "{unit}");
        let never = super::span_impl(quote! { ret }, quote! { fn f() -> ! { loop {} } }, true).to_string();
        assert!(!never.contains("\"return\""), "{never}");
    }
}
