//! Writes the instrumented function.
//!
//! A plain function gets a guard as its first statement and runs its body through the guard: the span
//! opens there and closes when the guard drops, after the return value is computed or while a panic
//! unwinds (whose message the guard reads on the way). A function that produces a future gets its
//! future wrapped, so the span covers the future's polls and not the call that built it.
//!
//! What the user wrote keeps the user's spans: the body's braces (so lints on the function, such as
//! `dead_code`, are reported and `#[expect]`ed as on any function, not taken for the macro's code) and
//! the types the expansion declares (so a mismatch is reported on the user's expression and type).

use crate::attr::Options;
use crate::func::{arg_names, box_pin_tail, Func, Shape};
use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, ReturnType, Signature, Type};

pub fn span(options: &Options, mut func: Func) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => quote!(#path),
        None => quote!(::telem),
    };
    let p = quote!(#krate::__private);
    let ident = &func.sig.ident;
    let name = match &options.name {
        Some(lit) => lit.value(),
        None => ident.to_string(),
    };
    let kind = syn::Ident::new(options.kind.map_or("Internal", |(k, _)| k), proc_macro2::Span::call_site());
    // `line!()` spanned at the function name reports the function's line.
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let site = quote! {{
        static __TELEM_SITE: #p::CallSite =
            #p::CallSite::new(#name, #p::SpanKind::#kind, ::core::module_path!(), ::core::file!(), #line);
        &__TELEM_SITE
    }};
    let record = record_attributes(options, &func, &p);
    let mutable = (!record.is_empty()).then(|| quote!(mut));
    // `args` records `_unused` arguments too, which clippy (pedantic) would call a use of an ignored binding.
    let record = (!record.is_empty()).then(|| {
        quote! {
            #[allow(clippy::used_underscore_binding)]
            if __telem_span.is_recording() { #(#record)* }
        }
    });

    // `parent = expr`: evaluated once, current while the span starts (a sync span's whole call).
    let parent = options.parent.as_ref().map(|expr| {
        let at = expr.span();
        let expr = match expr {
            // A bare `None` has no type of its own to say which `Option` it is.
            Expr::Path(path) if path.path.is_ident("None") => {
                quote_spanned!(path.span()=> ::core::option::Option::<#krate::Context>::None)
            }
            other => quote!(#other),
        };
        // Spanned at the expression, so "`X` is not `IntoParent`" points there.
        let new = quote_spanned!(at=> #p::Parent::new(#expr));
        quote!(let __telem_parent = #new;)
    });
    let enter_parent = parent.as_ref().map(|parent| quote!(#parent let __telem_entered = __telem_parent.enter();));
    // A future span starts under the parent, and each poll runs under it (so what the parent carries,
    // such as baggage, stays current inside).
    let start_future = match &parent {
        Some(parent) => quote!(#parent let #mutable __telem_span = {
            let __telem_entered = __telem_parent.enter();
            #p::FutureSpan::start(#site)
        };),
        None => quote!(let #mutable __telem_span = #p::FutureSpan::start(#site);),
    };
    let under_parent = |future: TokenStream| match &parent {
        Some(_) => quote!(__telem_parent.instrument(#future)),
        None => future,
    };
    // The closure that runs the body says what it returns, so coercions (`Box<dyn Trait>`) and `?`
    // conversions work as in the plain function, and a mismatch is reported on the body's expression.
    let declared = declared_type(&func.sig);
    let returns = declared.as_ref().map(|ty| quote!(-> #ty));
    let returns_never = matches!(&func.sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
    let returns_unit = match &func.sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()),
    };
    let err_span = options.err.unwrap_or_else(proc_macro2::Span::call_site);
    let ret_span = options.ret.unwrap_or_else(proc_macro2::Span::call_site);
    // The tail `Box::pin(…)` can be instrumented in place only when no early `return` bypasses it.
    let early_return = has_return(&func.block);
    let brace = func.block.brace_token;
    let block = &mut func.block;
    let body = match func.shape {
        Shape::Sync if func.outer_attrs.iter().any(|a| a.path().is_ident("track_caller")) => {
            // A closure loses `#[track_caller]` (`Location::caller()`, `unwrap` messages would name the
            // closure's call in the expansion), so the body stays inline: a panic still marks the span
            // failed when the guard drops, with the message `panicked`. `valid.rs` rejects `err` and
            // `ret` here, which need the body's value before it is returned.
            let stmts = &block.stmts;
            quote! {
                #enter_parent
                let #mutable __telem_span = #p::SpanGuard::enter(#site);
                #record
                #(#stmts)*
            }
        }
        Shape::Sync => {
            let run = quote!(__telem_span.run(move || #returns #block));
            let tail = match (options.err.is_some(), options.ret.is_some()) {
                (false, false) => run,
                (true, ret) => {
                    let ok = ret.then(
                        || quote_spanned!(ret_span=> __telem_span.attribute("return", #p::debug_value(&__telem_ok));),
                    );
                    quote_spanned! {err_span=>
                        match #run {
                            ::core::result::Result::Ok(__telem_ok) => { #ok ::core::result::Result::Ok(__telem_ok) }
                            ::core::result::Result::Err(__telem_err) => {
                                __telem_span.error(&__telem_err, {
                                    #[allow(unused_imports)]
                                    use #p::{ViaDisplay as _, ViaError as _};
                                    (&#p::Caught(&__telem_err)).__telem_sources()
                                });
                                ::core::result::Result::Err(__telem_err)
                            }
                        }
                    }
                }
                // Nothing is ever returned.
                (false, true) if returns_never => run,
                (false, true) if returns_unit => quote_spanned! {ret_span=>
                    #run;
                    __telem_span.attribute("return", #p::debug_value(&()));
                },
                (false, true) => quote_spanned! {ret_span=>
                    let __telem_ret = #run;
                    __telem_span.attribute("return", #p::debug_value(&__telem_ret));
                    __telem_ret
                },
            };
            // The span ends inline where the body returns (`close`); the guard's drop then has
            // nothing left to do and only an unwind goes through it. A body that never returns has
            // no such point.
            let tail = if returns_never {
                tail
            } else {
                quote! {
                    let __telem_out = { #tail };
                    __telem_span.close();
                    __telem_out
                }
            };
            if options.err.is_none() && options.ret.is_none() && record.is_none() && enter_parent.is_none() {
                // Nothing but the span: one call that starts, runs and ends it (see `run_span`).
                quote!(#p::SpanGuard::run_span(#site, move || #returns #block))
            } else {
                quote! {
                    #enter_parent
                    let mut __telem_span = #p::SpanGuard::enter(#site);
                    #record
                    #tail
                }
            }
        }
        shape => {
            // The span opens on the call (its parent is what is current then) and is handed the future.
            let open = quote! {
                #start_future
                #record
            };
            // The body, run as a closure so an early `return` still goes through the wrapping below.
            let built = quote! {
                let __telem_future = #p::call_once(move || #returns #block);
            };
            let wrapped = inspect_output(options, quote!(__telem_future), &krate);
            match shape {
                Shape::AsyncFn => {
                    let declare = async_output_fix(&func.sig);
                    let future = inspect_output(options, quote!(async move { #declare #block }), &krate);
                    let future = under_parent(quote!(__telem_span.instrument(#future)));
                    quote! { #open #future.await }
                }
                Shape::ImplFuture => {
                    let future = under_parent(quote!(__telem_span.instrument(#wrapped)));
                    quote! { #open #built #future }
                }
                _ => match box_pin_tail(block).filter(|_| !early_return) {
                    // `Box::pin(async move { … })`: wrap the inner future, no second box.
                    Some(tail) => {
                        let inner = inspect_output(options, quote!(#tail), &krate);
                        let future = under_parent(quote!(__telem_span.instrument(#inner)));
                        *tail = syn::parse_quote!(#future);
                        let stmts = &block.stmts;
                        quote! { #open #(#stmts)* }
                    }
                    None => {
                        let future = under_parent(quote!(__telem_span.instrument(#wrapped)));
                        quote! { #open #built ::std::boxed::Box::pin(#future) }
                    }
                },
            }
        }
    };
    let Func { outer_attrs, inner_attrs, vis, sig, .. } = func;
    // The function's braces are the user's: the item's span then ends in the user's code, so lints on
    // the function (`dead_code`) are reported, and `#[allow]`/`#[expect]`ed, as on any function.
    let mut body = Group::new(Delimiter::Brace, quote! { #(#inner_attrs)* #body });
    body.set_span(brace.span.join());
    quote! {
        #(#outer_attrs)*
        #vis #sig #body
    }
}

/// An async block's output is inferred, not declared: an unreachable `return` of the declared type,
/// put first in the block, fixes it, so coercions and `?` conversions work as in the `async fn`. It
/// stands outside the block of the body's statements, where the body's items and `use`s cannot change
/// what the type's names mean. Its `return` is spanned at the return type, where "return type inferred
/// to be … here" then points (the rest stays the macro's, out of reach of lints such as `empty_loop`).
pub fn async_output_fix(sig: &Signature) -> TokenStream {
    let returns_never = matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)));
    match declared_type(sig) {
        Some(ty) if !returns_never => {
            let fix = quote_spanned!(syn::spanned::Spanned::span(&ty)=> return __telem_declared;);
            quote! {
                #[allow(unreachable_code)]
                if false {
                    let __telem_declared: #ty = loop {};
                    #fix
                }
            }
        }
        _ => quote!(),
    }
}

/// The return type as the expansion declares it on the closure or `let` that fixes the body's type:
/// `()` when none is written, `_` in place of each `impl Trait` (`Box<impl Display>` is `Box<_>`), and
/// nothing when the type is an `impl Trait` itself. Spanned where the user wrote it.
pub fn declared_type(sig: &Signature) -> Option<Type> {
    struct Infer;
    impl VisitMut for Infer {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            match ty {
                Type::ImplTrait(t) => {
                    let underscore = syn::Token![_](t.impl_token.span);
                    *ty = Type::Infer(syn::TypeInfer { underscore_token: underscore });
                }
                _ => syn::visit_mut::visit_type_mut(self, ty),
            }
        }
    }
    match &sig.output {
        // At the parameters' closing parenthesis, where the return type would be written.
        ReturnType::Default => {
            let close = sig.paren_token.span.close();
            Some(syn::parse_quote_spanned!(close=> ()))
        }
        ReturnType::Type(_, ty) if is_impl_trait(ty) => None,
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            Infer.visit_type_mut(&mut ty);
            Some(ty)
        }
    }
}

fn is_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Paren(p) => is_impl_trait(&p.elem),
        Type::Group(g) => is_impl_trait(&g.elem),
        _ => false,
    }
}

/// Statements that record `args` and `fields` on `__telem_span`.
fn record_attributes(options: &Options, func: &Func, p: &TokenStream) -> Vec<TokenStream> {
    let mut out = Vec::new();
    if options.args.is_some() {
        for (arg, cfgs) in arg_names(&func.sig).into_iter().filter(|(a, _)| !options.skip.contains(a)) {
            let key = arg.to_string();
            let key = key.strip_prefix("r#").unwrap_or(&key);
            // Spanned at the argument, so "`T` is not `Debug`" points there.
            out.push(quote_spanned! {arg.span()=> #(#cfgs)* __telem_span.attribute(#key, #p::debug_value(&#arg)); });
        }
    }
    for link in &options.links {
        // Spanned at the expression, so "`X` is not `IntoParent`" points there.
        out.push(quote_spanned! {link.span()=> __telem_span.link(#link); });
    }
    for field in &options.fields {
        let (key, value) = (&field.key, &field.value);
        out.push(quote! {
            __telem_span.attribute(#key, {
                #[allow(unused_imports)]
                use #p::{ViaDebug as _, ViaToValue as _};
                (&#p::Wrap(&(#value))).__telem_value()
            });
        });
    }
    out
}

/// For `err` and `ret` on a future: a future that awaits `future` and records its output on the span,
/// which is current while it is polled.
fn inspect_output(options: &Options, future: TokenStream, krate: &TokenStream) -> TokenStream {
    let ret = options.ret.map(|span| {
        quote_spanned!(span=> #krate::current_span().set_attribute("return", #krate::__private::debug_value(&__telem_ok));)
    });
    let err_span = options.err.unwrap_or_else(proc_macro2::Span::call_site);
    match (options.err.is_some(), ret) {
        (false, None) => future,
        (true, ret) => quote_spanned! {err_span=>
            async move {
                match #future.await {
                    ::core::result::Result::Ok(__telem_ok) => { #ret ::core::result::Result::Ok(__telem_ok) }
                    ::core::result::Result::Err(__telem_err) => {
                        // The error's type is not known yet where this is checked (the future's output
                        // is inferred), so the autoref that finds a `source()` chain cannot run here:
                        // the exception event has the type and message.
                        #krate::current_span().error(&__telem_err, ::core::option::Option::None);
                        ::core::result::Result::Err(__telem_err)
                    }
                }
            }
        },
        (false, Some(ret)) => quote! {
            async move {
                let __telem_ok = #future.await;
                #[allow(unreachable_code)]
                #ret
                __telem_ok
            }
        },
    }
}

/// Whether a block has a `return` of its own (not one inside a nested closure, async block or item).
pub fn has_return(block: &syn::Block) -> bool {
    struct Find(bool);
    impl<'ast> syn::visit::Visit<'ast> for Find {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut find = Find(false);
    syn::visit::Visit::visit_block(&mut find, block);
    find.0
}
