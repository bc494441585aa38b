//! Misuse of `#[span]` and `#[flow]`, reported on the offending token. Every problem is collected, so one build
//! shows them all.

use crate::attr::Options;
use crate::func::{arg_names, may_be_result, Func};

/// Errors collected while reading one macro invocation.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn into_result(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// `what`: the macro, `span` or `flow`, as the messages name it.
pub fn check(options: &Options, func: &Func, errors: &mut Errors, what: &str) {
    if let Some(c) = &func.sig.constness {
        errors.push(syn::Error::new(
            c.span,
            format!("#[{what}] cannot instrument a `const fn`: spans happen at run time"),
        ));
    }
    if let Some(err) = options.err {
        if !func.value_type.as_ref().is_some_and(may_be_result) {
            let what = match &func.value_type {
                Some(ty) => format!("`{}`", type_text(ty)),
                None => "`()`".to_owned(),
            };
            errors.push(syn::Error::new(
                err,
                format!("`err` needs a function that returns `Result`, this one returns {what}"),
            ));
        }
    }
    if func.shape == crate::func::Shape::Sync && func.outer_attrs.iter().any(|a| a.path().is_ident("track_caller")) {
        for (option, name) in [(options.err, "err"), (options.ret, "ret")] {
            if let Some(option) = option {
                errors.push(syn::Error::new(
                    option,
                    format!("`{name}` runs the body in a closure, which loses `#[track_caller]`: remove `{name}` or `#[track_caller]`"),
                ));
            }
        }
    }
    if let Some(skip) = options.skip_span {
        if options.args.is_none() {
            errors
                .push(syn::Error::new(skip, "`skip` only applies with `args`: arguments are not recorded by default"));
        }
    }
    let names: Vec<_> = arg_names(&func.sig).into_iter().map(|(name, _)| name).collect();
    for skipped in &options.skip {
        if !names.contains(skipped) {
            errors.push(syn::Error::new(skipped.span(), format!("`{skipped}` is not an argument of this function")));
        }
    }
    let mut keys: Vec<&str> = Vec::new();
    for field in &options.fields {
        if keys.contains(&field.key.as_str()) {
            errors.push(syn::Error::new(field.key_span, format!("field `{}` is set twice", field.key)));
        }
        keys.push(&field.key);
    }
    if let Some(name) = &options.name {
        if name.value().is_empty() {
            errors.push(syn::Error::new(name.span(), "span name must not be empty"));
        }
    }
}

/// A type as a person writes it: `Option<u32>`, not `Option < u32 >`.
pub fn type_text(ty: &syn::Type) -> String {
    let text = quote::ToTokens::to_token_stream(ty).to_string();
    let mut out = text;
    for (from, to) in
        [(" < ", "<"), (" <", "<"), ("< ", "<"), (" >", ">"), (" :: ", "::"), (":: ", "::"), (" ,", ","), ("& ", "&")]
    {
        out = out.replace(from, to);
    }
    out
}
