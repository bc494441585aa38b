//! The options of `#[span(...)]` and `#[flow(...)]` (the same set).

use crate::valid::Errors;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Meta, Path, Token};

/// The span kinds `kind = …` accepts, with the `SpanKind` variant each names.
const KINDS: &[(&str, &str)] = &[
    ("internal", "Internal"),
    ("server", "Server"),
    ("client", "Client"),
    ("producer", "Producer"),
    ("consumer", "Consumer"),
];

const OPTIONS: &str = "name, kind, fields, args, skip, err, ret, parent, links, crate";

/// One `key = value` of `fields(...)`.
pub struct Field {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `written`: the key's identifier as written, when the key is one identifier (for the shorthand).
        let (key, key_span, written) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.span(), None)
        } else {
            // A dotted name such as `http.method`; keywords are fine as parts (`type`, `self`), and raw
            // identifiers lose their `r#` (`r#type` is the key `type`).
            let first = Ident::parse_any(input)
                .map_err(|e| syn::Error::new(e.span(), "expected a field name: fields(key = value, …)"))?;
            let mut key = first.unraw().to_string();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                key.push('.');
                key.push_str(&Ident::parse_any(input)?.unraw().to_string());
            }
            if !key.contains('.') && !input.is_empty() && !input.peek(Token![=]) && !input.peek(Token![,]) {
                return Err(syn::Error::new(input.span(), format!("expected `= value` or `,` after `{key}`")));
            }
            let written = (!key.contains('.')).then(|| first.clone());
            (key, first.span(), written)
        };
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            input.parse()?
        } else if let Some(written) = written {
            // `fields(n)` is short for `fields(n = n)`: the value is the identifier as written, with its span.
            match syn::parse2::<Ident>(written.to_token_stream()) {
                Ok(ident) => syn::parse_quote!(#ident),
                Err(_) => {
                    return Err(syn::Error::new(key_span, format!("expected `{key} = value`: `{key}` is a keyword")))
                }
            }
        } else {
            return Err(syn::Error::new(key_span, "expected `= value` after a dotted field name"));
        };
        Ok(Field { key, key_span, value })
    }
}

/// The parsed options. Each `Option<Span>` is the span of the option's token, for errors about it.
#[derive(Default)]
pub struct Options {
    pub name: Option<LitStr>,
    /// The `SpanKind` variant, and the span of the kind token.
    pub kind: Option<(&'static str, Span)>,
    pub fields: Vec<Field>,
    pub args: Option<Span>,
    pub skip: Vec<Ident>,
    pub skip_span: Option<Span>,
    pub err: Option<Span>,
    pub ret: Option<Span>,
    pub krate: Option<Path>,
    /// `parent = expr`: anything `IntoParent`.
    pub parent: Option<Expr>,
    /// `links(expr, …)`: each anything `IntoParent`.
    pub links: Vec<Expr>,
}

/// Parses the options, recording every problem in `errors` and keeping what it could read.
pub fn parse(tokens: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    each_option(tokens, errors, OPTIONS, |key, meta, errors| match (key.as_str(), meta) {
        ("name", Meta::NameValue(nv)) => match nv.value {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => options.name = Some(s),
            other => errors.push(syn::Error::new(other.span(), "`name` takes a string literal: name = \"…\"")),
        },
        ("kind", Meta::NameValue(nv)) => {
            let ident = match &nv.value {
                Expr::Path(p) => p.path.get_ident().cloned(),
                _ => None,
            };
            let quoted = matches!(&nv.value, Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(_), .. }));
            match ident.as_ref().and_then(|i| KINDS.iter().find(|(k, _)| i == k)) {
                Some((_, variant)) => options.kind = Some((variant, nv.value.span())),
                None => errors.push(syn::Error::new(
                    nv.value.span(),
                    format!(
                        "unknown span kind; expected one of internal, server, client, producer, consumer{}",
                        if quoted { " (without quotes: kind = client)" } else { "" }
                    ),
                )),
            }
        }
        ("fields", Meta::List(list)) => match list.parse_args_with(Punctuated::<Field, Token![,]>::parse_terminated) {
            Ok(fields) => options.fields.extend(fields),
            Err(e) => errors.push(e),
        },
        ("skip", Meta::List(list)) => {
            options.skip_span = Some(list.path.span());
            match list.parse_args_with(|input: ParseStream| {
                Punctuated::<Ident, Token![,]>::parse_terminated_with(input, Ident::parse_any)
            }) {
                Ok(names) => {
                    for name in names {
                        if name == "self" {
                            errors.push(syn::Error::new(name.span(), "`self` is never recorded; no need to skip it"));
                        } else {
                            options.skip.push(name);
                        }
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        ("parent", Meta::NameValue(nv)) => options.parent = Some(nv.value),
        ("links", Meta::List(list)) => match list.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(links) if links.is_empty() => {
                errors.push(syn::Error::new(list.path.span(), "`links` takes at least one context: links(ctx, …)"))
            }
            Ok(links) => options.links.extend(links),
            Err(e) => errors.push(e),
        },
        ("args", Meta::Path(p)) => options.args = Some(p.span()),
        ("err", Meta::Path(p)) => options.err = Some(p.span()),
        ("ret", Meta::Path(p)) => options.ret = Some(p.span()),
        ("crate", Meta::NameValue(nv)) => match nv.value {
            Expr::Path(p) => options.krate = Some(p.path),
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => match s.parse::<Path>() {
                Ok(path) => options.krate = Some(path),
                Err(e) => errors.push(syn::Error::new(s.span(), format!("`crate` must name a path: {e}"))),
            },
            other => errors.push(syn::Error::new(other.span(), "`crate` takes a path: crate = my::telem")),
        },
        ("name" | "kind" | "crate" | "parent", meta) => {
            errors.push(syn::Error::new(meta.span(), format!("`{key}` takes a value: {key} = …")))
        }
        ("fields" | "skip" | "links", meta) => {
            errors.push(syn::Error::new(meta.span(), format!("`{key}` takes a list: {key}(…)")))
        }
        ("args" | "err" | "ret", meta) => {
            errors.push(syn::Error::new(meta.span(), format!("`{key}` takes no value: write just `{key}`")))
        }
        (_, meta) => errors.push(syn::Error::new(
            meta.path().span(),
            format!("unknown option `{}`; expected one of {OPTIONS}", quote::ToTokens::to_token_stream(meta.path())),
        )),
    });
    options
}

/// Calls `each` with every option of an attribute, as its one-identifier name and its `Meta`, in the
/// order written. Each option is parsed on its own, so a syntax error in one does not hide the problems
/// of the others; a syntax error, a path that is not one identifier (`expected` lists the options) and
/// a repeated option are recorded in `errors` and skipped.
pub fn each_option(
    tokens: TokenStream,
    errors: &mut Errors,
    expected: &str,
    mut each: impl FnMut(String, Meta, &mut Errors),
) {
    let mut seen: Vec<String> = Vec::new();
    for chunk in split_options(tokens) {
        let meta = match syn::parse2::<Meta>(chunk) {
            Ok(meta) => meta,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // `crate` is a keyword, so it is not an `Ident` of the path; any other option is one identifier.
        let path = meta.path();
        let key = match (path.leading_colon, path.segments.len()) {
            (None, 1) => path.segments[0].ident.to_string(),
            _ => {
                let text = quote::ToTokens::to_token_stream(path).to_string().replace(' ', "");
                errors
                    .push(syn::Error::new(path.span(), format!("unknown option `{text}`; expected one of {expected}")));
                continue;
            }
        };
        if seen.contains(&key) {
            errors.push(syn::Error::new(path.span(), format!("duplicate option `{key}`")));
            continue;
        }
        seen.push(key.clone());
        each(key, meta, errors);
    }
}

/// Splits an attribute's tokens at its top-level commas (commas inside `(…)` belong to one option).
pub fn split_options(tokens: TokenStream) -> Vec<TokenStream> {
    let mut chunks = vec![TokenStream::new()];
    for tree in tokens {
        match &tree {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == ',' => chunks.push(TokenStream::new()),
            _ => chunks.last_mut().expect("never empty").extend([tree]),
        }
    }
    chunks.retain(|c| !c.is_empty());
    chunks
}
