//! `#[counted]`: its options, their misuse, and the expansion.
//!
//! A counted function gets one `static CountedSite` (its atomics) submitted to `inventory`, and its
//! body runs between `CountedGuard::enter` and `finish` — in a closure for a plain function (so an
//! early `return` or `?` still goes through `finish`), in a `CountedFuture` for one that returns a
//! future. Together with `#[span]`/`#[flow]`, the span goes outside: `#[counted]` written first puts
//! the span's attribute before itself and runs again on the span's output, so the calls are counted
//! inside the function's span (whose ids their exemplars then carry) and a flow's `#[step]`s are
//! rewritten by the flow before anything moves them into a closure.

use crate::attr::{each_option, Field};
use crate::expand::{async_output_fix, declared_type};
use crate::func::{self, Func, Shape};
use crate::valid::Errors;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Lit, LitStr, Meta, Path, Token};

const OPTIONS: &str = "duration, buckets, concurrency, name, labels, crate";
const RESERVED: &[&str] = &["function", "module", "result"];

#[derive(Default)]
pub struct Options {
    pub name: Option<LitStr>,
    pub duration: Option<Span>,
    pub buckets: Option<Vec<f64>>,
    pub concurrency: Option<Span>,
    pub labels: Vec<(String, String)>,
    pub krate: Option<Path>,
}

pub fn parse(tokens: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    each_option(tokens, errors, OPTIONS, |key, meta, errors| match (key.as_str(), meta) {
        ("duration", Meta::Path(p)) => options.duration = Some(p.span()),
        ("concurrency", Meta::Path(p)) => options.concurrency = Some(p.span()),
        ("name", Meta::NameValue(nv)) => match nv.value {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) if s.value().trim().is_empty() => {
                errors.push(syn::Error::new(s.span(), "metric name must not be empty"))
            }
            Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => options.name = Some(s),
            other => errors.push(syn::Error::new(other.span(), "`name` takes a string literal: name = \"…\"")),
        },
        ("buckets", Meta::NameValue(nv)) => options.buckets = buckets(&nv.value, errors),
        ("labels", Meta::List(list)) => match list.parse_args_with(Punctuated::<Field, Token![,]>::parse_terminated) {
            Ok(fields) if fields.is_empty() => {
                errors.push(syn::Error::new(list.path.span(), "`labels` takes at least one label: labels(k = \"v\")"))
            }
            Ok(fields) => {
                for field in fields {
                    label(field, &mut options.labels, errors);
                }
            }
            Err(e) => errors.push(e),
        },
        ("crate", Meta::NameValue(nv)) => match nv.value {
            Expr::Path(p) => options.krate = Some(p.path),
            other => errors.push(syn::Error::new(other.span(), "`crate` takes a path: crate = my::telem")),
        },
        ("duration" | "concurrency", meta) => {
            errors.push(syn::Error::new(meta.span(), format!("`{key}` takes no value: write just `{key}`")))
        }
        ("name" | "buckets" | "crate", meta) => {
            errors.push(syn::Error::new(meta.span(), format!("`{key}` takes a value: {key} = …")))
        }
        ("labels", meta) => errors.push(syn::Error::new(meta.span(), "`labels` takes a list: labels(k = \"v\", …)")),
        (_, meta) => errors.push(syn::Error::new(
            meta.path().span(),
            format!("unknown option `{key}` of #[counted]; expected one of {OPTIONS}"),
        )),
    });
    options
}

/// `buckets = [0.001, 0.01, …]`: number literals, strictly increasing, at least one.
fn buckets(value: &Expr, errors: &mut Errors) -> Option<Vec<f64>> {
    let Expr::Array(array) = value else {
        errors.push(syn::Error::new(value.span(), "`buckets` takes a list of numbers: buckets = [0.01, 0.1, 1.0]"));
        return None;
    };
    if array.elems.is_empty() {
        errors.push(syn::Error::new(array.span(), "`buckets` needs at least one bound"));
        return None;
    }
    let mut out: Vec<f64> = Vec::new();
    let mut ok = true;
    for elem in &array.elems {
        let Some(bound) = number(elem) else {
            errors.push(syn::Error::new(elem.span(), "a bucket bound must be a number literal, such as 0.25"));
            ok = false;
            continue;
        };
        if !bound.is_finite() {
            errors.push(syn::Error::new(elem.span(), "a bucket bound must be finite (+Inf is always the last bucket)"));
            ok = false;
        } else if let Some(&last) = out.last() {
            if bound == last {
                errors.push(syn::Error::new(elem.span(), format!("duplicate bucket bound {bound}")));
                ok = false;
            } else if bound < last {
                errors.push(syn::Error::new(
                    elem.span(),
                    format!("bucket bounds must be increasing: {bound} comes after {last}"),
                ));
                ok = false;
            }
        }
        out.push(bound);
    }
    ok.then_some(out)
}

fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Float(f), .. }) => f.base10_parse().ok(),
        Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<u64>().ok().map(|n| n as f64),
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) => number(expr).map(|n| -n),
        _ => None,
    }
}

/// One `key = "value"` of `labels(…)`: the value a literal (labels are static; use `telem::counter!`
/// for values known at run time).
fn label(field: Field, labels: &mut Vec<(String, String)>, errors: &mut Errors) {
    let value = match &field.value {
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
        Expr::Lit(syn::ExprLit { lit: Lit::Int(i), .. }) => Some(i.base10_digits().to_owned()),
        Expr::Lit(syn::ExprLit { lit: Lit::Bool(b), .. }) => Some(b.value.to_string()),
        _ => None,
    };
    let Some(value) = value else {
        errors.push(syn::Error::new(
            field.value.span(),
            "a label value of #[counted] must be a literal (labels are static); use telem::counter! for run-time values",
        ));
        return;
    };
    if RESERVED.contains(&field.key.as_str()) {
        errors.push(syn::Error::new(field.key_span, format!("label `{}` is set by #[counted] itself", field.key)));
    } else if labels.iter().any(|(k, _)| *k == field.key) {
        errors.push(syn::Error::new(field.key_span, format!("label `{}` is set twice", field.key)));
    } else {
        labels.push((field.key, value));
    }
}

/// Misuse that needs the function too.
pub fn check(func: &Func, errors: &mut Errors) -> bool {
    let result = func.value_type.as_ref().is_some_and(is_result);
    if let Some(c) = &func.sig.constness {
        errors.push(syn::Error::new(c.span, "#[counted] cannot count a `const fn`: calls happen at run time"));
    }
    let track_caller = func.outer_attrs.iter().any(|a| a.path().is_ident("track_caller"));
    if func.shape == Shape::Sync && track_caller && result {
        errors.push(syn::Error::new(
            func.sig.ident.span(),
            "#[counted] needs a closure to see whether a `Result` is `Err`, which loses `#[track_caller]`: remove one of them",
        ));
    }
    result
}

/// Whether the value type is spelled `Result` (`io::Result<T>`, `anyhow::Result<T>` …): such a
/// function's calls are labelled `result="ok"|"error"`. A macro sees names only; an alias with
/// another name counts calls without the label.
fn is_result(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        syn::Type::Paren(p) => is_result(&p.elem),
        syn::Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}

/// Where `#[span]`/`#[flow]` is among the function's attributes.
pub fn span_attribute(func: &Func) -> Option<usize> {
    func.outer_attrs.iter().position(|a| {
        a.path().segments.last().is_some_and(|s| s.ident == "span" || s.ident == "flow")
            && matches!(a.style, syn::AttrStyle::Outer)
    })
}

/// The item again with the span's attribute first and `#[counted(args)]` after it.
pub fn after_span(args: TokenStream, options: &Options, mut func: Func, at: usize) -> TokenStream {
    let span = func.outer_attrs.remove(at);
    let krate = match &options.krate {
        Some(path) => quote!(#path),
        None => quote!(::telem),
    };
    let Func { outer_attrs, inner_attrs, vis, sig, block, .. } = func;
    let stmts = &block.stmts;
    quote! {
        #span
        #[#krate::counted(#args)]
        #(#outer_attrs)*
        #vis #sig { #(#inner_attrs)* #(#stmts)* }
    }
}

pub fn expand(options: &Options, mut func: Func, result: bool) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => quote!(#path),
        None => quote!(::telem),
    };
    let p = quote!(#krate::__private);
    let m = quote!(#p::metrics);
    let function = func.sig.ident.to_string();
    let function = function.strip_prefix("r#").unwrap_or(&function).to_owned();
    let name = options.name.as_ref().map_or_else(|| "function.calls".to_owned(), LitStr::value);
    let duration_name = format!("{name}.duration");
    let concurrent_name = format!("{name}.concurrent");
    let label_keys = options.labels.iter().map(|(k, _)| k);
    let label_values = options.labels.iter().map(|(_, v)| v);
    let histogram = (options.duration.is_some() || options.buckets.is_some()).then(|| {
        let bounds = match &options.buckets {
            Some(bounds) => {
                let n = bounds.len();
                quote! {{ static __TELEM_BOUNDS: [f64; #n] = [#(#bounds),*]; &__TELEM_BOUNDS }}
            }
            None => quote!(#m::DURATION_BUCKETS),
        };
        let slots = match &options.buckets {
            Some(bounds) => {
                let n = bounds.len() + 1;
                quote!(#n)
            }
            None => quote!(#m::DURATION_BUCKETS.len() + 1),
        };
        quote! {
            ::core::option::Option::Some({
                static __TELEM_COUNTS: [::core::sync::atomic::AtomicU64; #slots] =
                    [const { ::core::sync::atomic::AtomicU64::new(0) }; #slots];
                static __TELEM_EXEMPLARS: [#m::Exemplar; #slots] = [const { #m::Exemplar::new() }; #slots];
                static __TELEM_HISTOGRAM: #m::HistogramCell =
                    #m::HistogramCell::new(#bounds, &__TELEM_COUNTS, &__TELEM_EXEMPLARS);
                &__TELEM_HISTOGRAM
            })
        }
    });
    let histogram = histogram.unwrap_or_else(|| quote!(::core::option::Option::None));
    let concurrent = match options.concurrency {
        Some(_) => quote! {
            ::core::option::Option::Some({ static __TELEM_ACTIVE: #m::UpDownCell = #m::UpDownCell::new(); &__TELEM_ACTIVE })
        },
        None => quote!(::core::option::Option::None),
    };
    let site = quote! {{
        static __TELEM_COUNTED: #m::CountedSite = #m::CountedSite::new(
            #name, #duration_name, #concurrent_name, #function, ::core::module_path!(),
            &[#((#label_keys, #label_values)),*], #result, #histogram, #concurrent,
        );
        #p::inventory::submit! { #m::Counted(&__TELEM_COUNTED) }
        &__TELEM_COUNTED
    }};
    let is_error = if result {
        quote!(|__telem_out: &_| ::core::matches!(__telem_out, ::core::result::Result::Err(_)))
    } else {
        quote!(|_: &_| false)
    };
    let track_caller = func.outer_attrs.iter().any(|a| a.path().is_ident("track_caller"));
    let declared = declared_type(&func.sig).map(|ty| quote!(-> #ty));
    let block = &func.block;
    let body = match func.shape {
        // Inline, as a closure would lose the caller's location: the guard's drop counts the call.
        Shape::Sync if track_caller => {
            let stmts = &block.stmts;
            quote! {
                let __telem_counted = #m::CountedGuard::enter_inline(#site);
                #(#stmts)*
            }
        }
        Shape::Sync => {
            let finish = if result {
                quote!(__telem_counted.finish(::core::matches!(&__telem_out, ::core::result::Result::Err(_)));)
            } else {
                quote!(__telem_counted.finish(false);)
            };
            quote! {
                let __telem_counted = #m::CountedGuard::enter(#site);
                let __telem_out = #p::call_once(move || #declared #block);
                #finish
                __telem_out
            }
        }
        Shape::AsyncFn => {
            let declare = async_output_fix(&func.sig);
            quote! { #m::CountedFuture::new(#site, async move { #declare #block }, #is_error).await }
        }
        Shape::ImplFuture => quote! {
            let __telem_future = #p::call_once(move || #block);
            #m::CountedFuture::new(#site, __telem_future, #is_error)
        },
        Shape::BoxedFuture => quote! {
            let __telem_future = #p::call_once(move || #declared #block);
            ::std::boxed::Box::pin(#m::CountedFuture::new(#site, __telem_future, #is_error))
        },
    };
    let brace = func.block.brace_token;
    let Func { outer_attrs, inner_attrs, vis, sig, .. } = &mut func;
    let mut body = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, quote! { #(#inner_attrs)* #body });
    body.set_span(brace.span.join());
    quote! {
        #(#outer_attrs)*
        #vis #sig #body
    }
}

/// `#[counted]` as a function of tokens (for unit tests too).
pub fn counted(args: TokenStream, item: TokenStream, enabled: bool) -> TokenStream {
    let mut errors = Errors::default();
    let options = parse(args.clone(), &mut errors);
    let func = func::parse(item.clone(), &mut errors, "counted");
    let result = func.as_ref().map(|f| check(f, &mut errors));
    match (errors.into_result(), func) {
        (Err(e), _) => {
            let mut out = e.to_compile_error();
            out.extend(item);
            out
        }
        (Ok(()), Some(func)) if enabled => match span_attribute(&func) {
            Some(at) => after_span(args, &options, func, at),
            None => expand(&options, func, result.unwrap_or(false)),
        },
        (Ok(()), _) => item,
    }
}
