//! The annotated function, and what shape of body it has: that decides where the span opens and
//! closes (around the call, or around the future the call returns).

use crate::valid::Errors;
use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{
    Attribute, Block, Expr, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Signature, Type, TypeParamBound,
};

/// How the function produces its result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// A plain call: the span covers it.
    Sync,
    /// `async fn`: the span covers the body's future.
    AsyncFn,
    /// `fn … -> impl Future<Output = T>`: the span covers the returned future.
    ImplFuture,
    /// `fn … -> Pin<Box<dyn Future<Output = T> …>>` (the `async_trait` shape), or any return type (an
    /// alias such as futures' `BoxFuture<'a, T>`) with a body ending in `Box::pin(async …)`: the span
    /// covers the future.
    BoxedFuture,
}

pub struct Func {
    pub outer_attrs: Vec<Attribute>,
    pub inner_attrs: Vec<Attribute>,
    pub vis: syn::Visibility,
    pub sig: Signature,
    pub block: Block,
    pub shape: Shape,
    /// What the caller finally gets: the return type, or the future's `Output`. `None` for `()`.
    pub value_type: Option<Type>,
}

/// Reads the item, or records why the macro (`what`: `span` or `flow`) cannot apply to it.
pub fn parse(item: TokenStream, errors: &mut Errors, what: &str) -> Option<Func> {
    let f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
                errors.push(syn::Error::new(
                    decl.sig.fn_token.span,
                    format!("#[{what}] needs a function body; put it on the function in the impl instead"),
                ));
            } else if let Ok(other) = syn::parse2::<syn::Item>(item) {
                errors.push(syn::Error::new(first_token_span(&other), format!("#[{what}] applies to functions only")));
            }
            // Otherwise the item does not parse at all: the compiler reports that on the item itself.
            let _ = e;
            return None;
        }
    };
    let (inner_attrs, outer_attrs) = f.attrs.into_iter().partition(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let ret = match &f.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let (shape, value_type) = if f.sig.asyncness.is_some() {
        (Shape::AsyncFn, ret)
    } else if let Some(output) = ret.as_ref().and_then(impl_future_output) {
        (Shape::ImplFuture, output)
    } else if let Some(output) = ret.as_ref().and_then(boxed_future_output) {
        (Shape::BoxedFuture, output)
    } else if ret.as_ref().is_some_and(|ty| !matches!(ty, Type::ImplTrait(_))) && ends_in_box_pin_async(&f.block) {
        // The future's `Output` is hidden behind the alias: any type may be a `Result` there.
        (Shape::BoxedFuture, ret)
    } else {
        (Shape::Sync, ret)
    };
    Some(Func { outer_attrs, inner_attrs, vis: f.vis, sig: f.sig, block: *f.block, shape, value_type })
}

fn first_token_span(item: &syn::Item) -> proc_macro2::Span {
    use quote::ToTokens;
    let tokens = match item {
        syn::Item::Struct(s) => s.struct_token.to_token_stream(),
        syn::Item::Enum(e) => e.enum_token.to_token_stream(),
        syn::Item::Const(c) => c.const_token.to_token_stream(),
        syn::Item::Static(s) => s.static_token.to_token_stream(),
        syn::Item::Impl(i) => i.impl_token.to_token_stream(),
        syn::Item::Trait(t) => t.trait_token.to_token_stream(),
        syn::Item::Mod(m) => m.mod_token.to_token_stream(),
        syn::Item::Type(t) => t.type_token.to_token_stream(),
        other => other.to_token_stream(),
    };
    tokens.span()
}

/// `Output` of a `Future<Output = T>` bound: `Some(None)` for a future without a visible `Output`.
fn future_bound_output<'a>(bounds: impl IntoIterator<Item = &'a TypeParamBound>) -> Option<Option<Type>> {
    bounds.into_iter().find_map(|b| match b {
        TypeParamBound::Trait(t) => {
            let last = t.path.segments.last()?;
            if last.ident != "Future" {
                return None;
            }
            let output = match &last.arguments {
                PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                    GenericArgument::AssocType(at) if at.ident == "Output" => Some(at.ty.clone()),
                    _ => None,
                }),
                _ => None,
            };
            Some(output)
        }
        _ => None,
    })
}

fn impl_future_output(ty: &Type) -> Option<Option<Type>> {
    match ty {
        Type::ImplTrait(t) => future_bound_output(&t.bounds),
        Type::Paren(p) => impl_future_output(&p.elem),
        _ => None,
    }
}

/// The single generic type argument of a path type whose last segment is `name`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

fn boxed_future_output(ty: &Type) -> Option<Option<Type>> {
    match generic_arg(generic_arg(ty, "Pin")?, "Box")? {
        Type::TraitObject(t) => future_bound_output(&t.bounds),
        _ => None,
    }
}

/// Whether a type can be a `Result`. A macro sees names, not types, so any path might be an alias
/// (`type Fallible<T> = Result<T, E>`); only types that certainly are not a `Result` say no.
pub fn may_be_result(ty: &Type) -> bool {
    const NOT_RESULT: &[&str] = &[
        "Option", "Vec", "String", "Box", "Rc", "Arc", "HashMap", "BTreeMap", "HashSet", "bool", "char", "str", "u8",
        "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| !NOT_RESULT.contains(&s.ident.to_string().as_str())),
        Type::Paren(p) => may_be_result(&p.elem),
        Type::Group(g) => may_be_result(&g.elem),
        _ => false,
    }
}

/// The identifiers an argument pattern binds, in order (`(a, b): (u8, u8)` binds `a` and `b`).
pub fn bindings(pat: &Pat, out: &mut Vec<syn::Ident>) {
    match pat {
        Pat::Ident(p) => out.push(p.ident.clone()),
        Pat::Tuple(t) => t.elems.iter().for_each(|p| bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Reference(r) => bindings(&r.pat, out),
        Pat::Type(t) => bindings(&t.pat, out),
        Pat::Paren(p) => bindings(&p.pat, out),
        _ => {}
    }
}

/// The identifiers bound by all non-`self` arguments, each with its argument's `#[cfg]` attributes
/// (an argument configured away must not be recorded either).
pub fn arg_names(sig: &Signature) -> Vec<(syn::Ident, Vec<Attribute>)> {
    let mut names = Vec::new();
    for input in &sig.inputs {
        if let syn::FnArg::Typed(t) = input {
            let cfgs: Vec<Attribute> = t.attrs.iter().filter(|a| a.path().is_ident("cfg")).cloned().collect();
            let mut bound = Vec::new();
            bindings(&t.pat, &mut bound);
            names.extend(bound.into_iter().map(|ident| (ident, cfgs.clone())));
        }
    }
    names
}

/// Whether the block ends in `Box::pin(async …)`: then the function returns a boxed future, whatever
/// its return type is called (`Box::pin` of anything else, `Box::pin(String::new())`, is no future).
fn ends_in_box_pin_async(block: &Block) -> bool {
    let Some(syn::Stmt::Expr(Expr::Call(call), None)) = block.stmts.last() else { return false };
    let mut future = call.args.first();
    while let Some(Expr::Paren(p)) = future {
        future = Some(&p.expr);
    }
    is_box_pin(call) && matches!(future, Some(Expr::Async(_)))
}

/// If the block ends in `Box::pin(future)`, that future expression.
pub fn box_pin_tail(block: &mut Block) -> Option<&mut Expr> {
    let syn::Stmt::Expr(Expr::Call(call), None) = block.stmts.last_mut()? else { return None };
    is_box_pin(call).then(|| call.args.first_mut().expect("one argument"))
}

/// Whether a call is `Box::pin(x)` (`std::boxed::Box::pin`, `::std::boxed::Box::pin`, …).
pub fn is_box_pin(call: &syn::ExprCall) -> bool {
    let Expr::Path(f) = &*call.func else { return false };
    let segs: Vec<String> = f.path.segments.iter().map(|s| s.ident.to_string()).collect();
    segs.len() >= 2 && segs[segs.len() - 2] == "Box" && segs[segs.len() - 1] == "pin" && call.args.len() == 1
}
