//! The `#[step]` statements of a `#[flow]` body: found, checked and rewritten in one walk.
//!
//! A step stays inline in the flow's body (no closure, no async block), so `?`, `return`, `break` and
//! its `let` bindings mean what they meant. What the walk changes:
//!
//! - the statement gets a `StepGuard` (a child span, current while the statement runs): `let PAT =
//!   { guard; EXPR };` for a `let`, `{ guard; STMT }` for anything else;
//! - each `?` inside the step first shows its operand to the guards of the steps it leaves (a failure
//!   marks them failed with the error's message), and in an async flow each `.await` inside the step
//!   polls through `StepAwait`, which makes the step current on whichever thread polls;
//! - a loop with a step inside counts its passes in a variable the macro declares around it, which
//!   the step records as `step.iteration`.
//!
//! Closures, async blocks and items inside the flow are not the flow's code: their `?` and `.await`
//! belong to them, and a `#[step]` there is an error. With `expand` false (the `enabled` feature off)
//! the walk only removes the `#[step]` attributes and reports the same mistakes.

use crate::attr::{split_options, Field};
use crate::valid::Errors;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Block, Expr, Ident, LitStr, Meta, Stmt, Token};

const STEP_OPTIONS: &str = "a name (\"…\"), name = \"…\", fields(…)";

/// Whether an attribute is `#[step]` (also `#[telem::step]` or through a re-export).
pub fn is_step(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "step")
}

/// What the walk needs to know about the flow.
pub struct Flow<'a> {
    /// The flow's span name: steps without a name are `<flow>/step[<i>]`.
    pub name: String,
    /// `::telem::__private`, or the path `crate = …` names.
    pub p: &'a TokenStream,
    /// `async fn`: each `.await` inside a step goes through `StepAwait`.
    pub is_async: bool,
    /// A function returning a future (`impl Future`, `Pin<Box<dyn Future>>`): the async block its body
    /// ends in (`async move { … }` or `Box::pin(async move { … })`) is the flow's async code, where
    /// steps may be and `.await` inside them goes through `StepAwait`.
    pub future_tail: bool,
    /// Rewrite (enabled), or only strip the attributes (disabled).
    pub expand: bool,
}

/// Finds and rewrites the steps of `block`, the flow's body. Whether it had any `#[step]`.
pub fn rewrite(flow: &Flow, block: &mut Block, errors: &mut Errors) -> bool {
    let mut walk = Walk {
        flow,
        errors,
        is_async: flow.is_async,
        before_future: false,
        count: 0,
        names: Vec::new(),
        steps: Vec::new(),
        loops: Vec::new(),
        next_loop: 0,
        opaque: None,
        found: false,
    };
    // The statements before the future's async block run at the call, as in a sync flow.
    let has_tail = flow.future_tail && block.stmts.last_mut().is_some_and(|stmt| async_tail(stmt).is_some());
    let mut tail = if has_tail { block.stmts.pop() } else { None };
    // The statements before the future's async block run at the call, when the flow's span is not
    // current (it is current only while the future is polled): no steps there.
    walk.before_future = flow.future_tail;
    walk.visit_block_mut(block);
    walk.before_future = false;
    if let Some(stmt) = &mut tail {
        walk.is_async = true;
        walk.visit_block_mut(&mut async_tail(stmt).expect("checked above").block);
    }
    block.stmts.extend(tail);
    walk.found
}

/// The async block a statement is, or is boxed in: `async move { … }`, `Box::pin(async move { … })`.
fn async_tail(stmt: &mut Stmt) -> Option<&mut syn::ExprAsync> {
    let Stmt::Expr(expr, None) = stmt else { return None };
    let boxed = matches!(expr, Expr::Call(call) if crate::func::is_box_pin(call));
    let mut expr = if boxed {
        let Expr::Call(call) = expr else { return None };
        call.args.first_mut()?
    } else {
        expr
    };
    while let Expr::Paren(p) = expr {
        expr = &mut p.expr;
    }
    match expr {
        Expr::Async(a) => Some(a),
        _ => None,
    }
}

/// Reports every `#[step]` in the body of a `#[span]` function (and removes it, so the compiler does
/// not report it a second time). Whether there was any.
pub fn reject(block: &mut Block, errors: &mut Errors) -> bool {
    struct Reject<'e>(&'e mut Errors, bool);
    impl VisitMut for Reject<'_> {
        fn visit_block_mut(&mut self, block: &mut Block) {
            for stmt in &mut block.stmts {
                if let Some(attrs) = stmt_attrs(stmt) {
                    for attr in take_steps(attrs) {
                        self.1 = true;
                        self.0.push(syn::Error::new_spanned(
                            attr,
                            "`#[step]` only works on statements inside a `#[telem::flow]` function: use `#[telem::flow]` instead of `#[telem::span]`",
                        ));
                    }
                }
            }
            syn::visit_mut::visit_block_mut(self, block);
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    }
    let mut reject = Reject(errors, false);
    reject.visit_block_mut(block);
    reject.1
}

/// Removes the `#[step]` attributes from `attrs` and returns them.
fn take_steps(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (steps, rest) = std::mem::take(attrs).into_iter().partition(is_step);
    *attrs = rest;
    steps
}

/// The attributes of a statement, where syn keeps them: on the `let`, the macro, the item, or the
/// leftmost operand of an expression (`#[a] x = y` puts `#[a]` on `x`).
fn stmt_attrs(stmt: &mut Stmt) -> Option<&mut Vec<Attribute>> {
    match stmt {
        Stmt::Local(l) => Some(&mut l.attrs),
        Stmt::Macro(m) => Some(&mut m.attrs),
        Stmt::Item(_) => None,
        Stmt::Expr(e, _) => expr_attrs(e),
    }
}

fn item_attrs(item: &mut syn::Item) -> Option<&mut Vec<Attribute>> {
    use syn::Item::*;
    Some(match item {
        Const(i) => &mut i.attrs,
        Enum(i) => &mut i.attrs,
        ExternCrate(i) => &mut i.attrs,
        Fn(i) => &mut i.attrs,
        ForeignMod(i) => &mut i.attrs,
        Impl(i) => &mut i.attrs,
        Macro(i) => &mut i.attrs,
        Mod(i) => &mut i.attrs,
        Static(i) => &mut i.attrs,
        Struct(i) => &mut i.attrs,
        Trait(i) => &mut i.attrs,
        TraitAlias(i) => &mut i.attrs,
        Type(i) => &mut i.attrs,
        Union(i) => &mut i.attrs,
        Use(i) => &mut i.attrs,
        _ => return None,
    })
}

fn expr_attrs(e: &mut Expr) -> Option<&mut Vec<Attribute>> {
    macro_rules! attrs {
        ($($v:ident),*) => {
            match e {
                Expr::Assign(x) => expr_attrs(&mut x.left),
                Expr::Binary(x) => expr_attrs(&mut x.left),
                Expr::Cast(x) => expr_attrs(&mut x.expr),
                $(Expr::$v(x) => Some(&mut x.attrs),)*
                _ => None,
            }
        };
    }
    attrs!(
        Array, Async, Await, Block, Break, Call, Closure, Const, Continue, Field, ForLoop, Group, If, Index, Infer,
        Let, Lit, Loop, Macro, Match, MethodCall, Paren, Path, Range, RawAddr, Reference, Repeat, Return, Struct, Try,
        TryBlock, Tuple, Unary, Unsafe, While, Yield
    )
}

/// One step's options: `#[step]`, `#[step("name")]`, `#[step(name = "…", fields(k = v, …))]`.
#[derive(Default)]
struct StepOptions {
    name: Option<LitStr>,
    fields: Vec<Field>,
}

fn parse_options(attr: &Attribute, errors: &mut Errors) -> StepOptions {
    let mut options = StepOptions::default();
    let tokens = match &attr.meta {
        Meta::Path(_) => return options,
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(nv) => {
            errors.push(syn::Error::new(nv.eq_token.span, "write `#[step(\"name\")]` or `#[step(name = \"…\")]`"));
            return options;
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for (i, chunk) in split_options(tokens).into_iter().enumerate() {
        if i == 0 {
            if let Ok(lit) = syn::parse2::<LitStr>(chunk.clone()) {
                options.name = Some(lit);
                seen.push("name".into());
                continue;
            }
        }
        let meta = match syn::parse2::<Meta>(chunk) {
            Ok(meta) => meta,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let key = meta.path().get_ident().map(Ident::to_string).unwrap_or_default();
        if matches!(key.as_str(), "name" | "fields") && seen.contains(&key) {
            errors.push(syn::Error::new(meta.path().span(), format!("duplicate step option `{key}`")));
            continue;
        }
        seen.push(key.clone());
        match (key.as_str(), meta) {
            ("name", Meta::NameValue(nv)) => match nv.value {
                Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => options.name = Some(s),
                other => errors.push(syn::Error::new(other.span(), "`name` takes a string literal: name = \"…\"")),
            },
            ("fields", Meta::List(list)) => {
                match list.parse_args_with(Punctuated::<Field, Token![,]>::parse_terminated) {
                    Ok(fields) => options.fields.extend(fields),
                    Err(e) => errors.push(e),
                }
            }
            ("name", meta) => errors.push(syn::Error::new(meta.span(), "`name` takes a value: name = \"…\"")),
            ("fields", meta) => errors.push(syn::Error::new(meta.span(), "`fields` takes a list: fields(…)")),
            (_, meta) => errors.push(syn::Error::new(
                meta.path().span(),
                format!(
                    "unknown step option `{}`; expected {STEP_OPTIONS}",
                    quote::ToTokens::to_token_stream(meta.path()).to_string().replace(' ', "")
                ),
            )),
        }
    }
    let mut keys: Vec<&str> = Vec::new();
    for field in &options.fields {
        if keys.contains(&field.key.as_str()) {
            errors.push(syn::Error::new(field.key_span, format!("field `{}` is set twice", field.key)));
        }
        keys.push(&field.key);
    }
    options
}

/// A loop the walk is inside: its pass counter, declared only if a step in it needs it.
struct Loop {
    counter: Ident,
    used: bool,
}

struct Walk<'a, 'e> {
    flow: &'a Flow<'a>,
    errors: &'e mut Errors,
    /// Whether the code walked is async (the `async fn`'s body, or a future's tail async block).
    is_async: bool,
    /// Walking the code a future-returning flow runs at the call, before its async block.
    before_future: bool,
    /// Steps seen so far: the next step's index.
    count: u64,
    /// Explicit step names so far.
    names: Vec<String>,
    /// The guards of the steps the walk is inside, innermost last.
    steps: Vec<Ident>,
    /// The loops the walk is inside (within the current step-able region), innermost last.
    loops: Vec<Loop>,
    next_loop: usize,
    /// Inside a closure, async block or `const` block: what it is, for the error on a step there.
    opaque: Option<&'static str>,
    /// Whether a `#[step]` attribute was removed.
    found: bool,
}

impl Walk<'_, '_> {
    /// Rewrites one `#[step]` statement (its attribute already removed).
    fn step(&mut self, attr: &Attribute, mut stmt: Stmt) -> Stmt {
        let options = parse_options(attr, self.errors);
        let index = self.count;
        self.count += 1;
        if let Some(name) = &options.name {
            let value = name.value();
            if value.is_empty() {
                self.errors.push(syn::Error::new(name.span(), "step name must not be empty"));
            } else if self.names.contains(&value) {
                self.errors.push(syn::Error::new(
                    name.span(),
                    format!("step name `{value}` is used twice in this flow; step names must be unique"),
                ));
            } else {
                self.names.push(value);
            }
        }
        if let Stmt::Local(local) = &stmt {
            if local.init.is_none() {
                self.errors.push(syn::Error::new(
                    local.let_token.span,
                    "a `#[step]` `let` needs a value to compute: `#[step] let x = …;`",
                ));
            }
        }
        let guard = format_ident!("__telem_step_{}", index);
        // The innermost loop counts this step's passes.
        let iteration = self.loops.last_mut().map(|l| {
            l.used = true;
            l.counter.clone()
        });
        self.steps.push(guard.clone());
        // What the step covers: `?`, `.await`, nested steps and loops inside it.
        match &mut stmt {
            Stmt::Local(local) => {
                if let Some(init) = &mut local.init {
                    self.visit_expr_mut(&mut init.expr);
                    if let Some((_, diverge)) = &mut init.diverge {
                        // `else { … }` runs after the step, outside it.
                        let inner = self.steps.pop();
                        self.visit_expr_mut(diverge);
                        self.steps.extend(inner);
                    }
                }
            }
            other => self.visit_stmt_mut(other),
        }
        self.steps.pop();
        if !self.flow.expand {
            return stmt;
        }

        let p = self.flow.p;
        let name = match &options.name {
            Some(lit) => lit.value(),
            None => format!("{}/step[{index}]", self.flow.name),
        };
        let line = quote_spanned!(attr.span()=> ::core::line!());
        // The attributes are a `static` of their own: a temporary `Value` array in the site's initializer
        // would need a destructor run at compile time.
        let site = quote! {{
            static __TELEM_STEP_ATTRIBUTES: [(&str, #p::Value); 2] = [
                ("step.index", #p::Value::U64(#index)),
                ("step.name", #p::Value::from_static(#name)),
            ];
            static __TELEM_STEP: #p::CallSite =
                #p::CallSite::new(#name, #p::SpanKind::Internal, ::core::module_path!(), ::core::file!(), #line)
                    .with_attributes(&__TELEM_STEP_ATTRIBUTES);
            &__TELEM_STEP
        }};
        let enter = match iteration {
            Some(counter) => quote!(#p::StepGuard::enter_iteration(#site, #counter)),
            None => quote!(#p::StepGuard::enter(#site)),
        };
        let fields: Vec<TokenStream> = options
            .fields
            .iter()
            .map(|field| {
                let (key, value) = (&field.key, &field.value);
                quote! {
                    #guard.attribute(#key, {
                        #[allow(unused_imports)]
                        use #p::{ViaDebug as _, ViaToValue as _};
                        (&#p::Wrap(&(#value))).__telem_value()
                    });
                }
            })
            .collect();
        let fields = (!fields.is_empty()).then(|| quote!(if #guard.is_recording() { #(#fields)* }));
        // `mut`: `?` and `.await` borrow the guard mutably; unused when there are neither.
        let open = quote! {
            #[allow(unused_mut)]
            let mut #guard = #enter;
            #fields
        };
        match stmt {
            Stmt::Local(mut local) => {
                if let Some(init) = &mut local.init {
                    let expr = &init.expr;
                    // `let … else` needs its expression not to end in `}`.
                    let wrapped =
                        if init.diverge.is_some() { quote!(({ #open #expr })) } else { quote!({ #open #expr }) };
                    *init.expr = syn::parse_quote!(#wrapped);
                }
                Stmt::Local(local)
            }
            Stmt::Expr(expr, None) => Stmt::Expr(syn::parse_quote!({ #open #expr }), None),
            other => Stmt::Expr(syn::parse_quote!({ #open #other }), None),
        }
    }

    fn opaque<T>(&mut self, what: &'static str, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = (self.opaque.replace(what), std::mem::take(&mut self.steps), std::mem::take(&mut self.loops));
        let out = f(self);
        (self.opaque, self.steps, self.loops) = saved;
        out
    }

    /// `expr?` inside a step: the guards of the steps it leaves see the operand first.
    fn checked(&self, operand: &Expr) -> TokenStream {
        let p = self.flow.p;
        let guards = &self.steps;
        quote! {
            match #operand {
                __telem_v => {
                    #[allow(unused_imports)]
                    use #p::{CheckAny as _, CheckDisplay as _};
                    #((&&#p::Checked(&__telem_v)).__telem_check(&mut #guards);)*
                    __telem_v
                }
            }
        }
    }

    /// A loop: visits its body (with the loop pushed), and if a step inside counts its passes, starts
    /// the body with the pass number and declares the counter around the loop.
    fn in_loop(&mut self, expr: &mut Expr) {
        let counter = format_ident!("__telem_loop_{}", self.next_loop);
        self.next_loop += 1;
        self.loops.push(Loop { counter, used: false });
        let body = match expr {
            Expr::ForLoop(f) => {
                self.visit_expr_mut(&mut f.expr);
                &mut f.body
            }
            Expr::While(w) => {
                self.visit_expr_mut(&mut w.cond);
                &mut w.body
            }
            Expr::Loop(l) => &mut l.body,
            _ => unreachable!("only loops"),
        };
        self.visit_block_mut(body);
        let l = self.loops.pop().expect("pushed above");
        if !l.used || !self.flow.expand {
            return;
        }
        let counter = l.counter;
        // Shadowed in the body by this pass's number (`continue` still counts: the counter moves first).
        body.stmts.insert(
            0,
            // `mem::replace`, not `+= 1`: clippy would suggest `enumerate` for a counter it cannot see.
            syn::parse_quote! { let #counter: u64 = { let __telem_next = #counter + 1; ::core::mem::replace(&mut #counter, __telem_next) }; },
        );
        let inner = std::mem::replace(expr, Expr::Verbatim(TokenStream::new()));
        *expr = syn::parse_quote!({ let mut #counter: u64 = 0; #inner });
    }
}

impl VisitMut for Walk<'_, '_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        for stmt in std::mem::take(&mut block.stmts) {
            let mut stmt = stmt;
            let steps = match &mut stmt {
                Stmt::Item(item) => {
                    if let Some(attrs) = item_attrs(item) {
                        for attr in take_steps(attrs) {
                            self.found = true;
                            self.errors.push(syn::Error::new_spanned(
                                attr,
                                "`#[step]` applies to statements (`let`, expressions), not to items",
                            ));
                        }
                    }
                    Vec::new()
                }
                other => stmt_attrs(other).map(take_steps).unwrap_or_default(),
            };
            self.found |= !steps.is_empty();
            let mut steps = steps.into_iter();
            match (steps.next(), self.opaque) {
                (Some(attr), None) if self.before_future => {
                    for attr in std::iter::once(attr).chain(steps) {
                        self.errors.push(syn::Error::new_spanned(
                            attr,
                            "in a flow that returns a future, steps go inside the async block it returns \
                             (`async move { … }` or `Box::pin(async move { … })`): the code before it runs at the \
                             call, outside the flow's span",
                        ));
                    }
                    self.visit_stmt_mut(&mut stmt);
                    block.stmts.push(stmt);
                }
                (Some(attr), None) => {
                    for extra in steps {
                        self.errors
                            .push(syn::Error::new_spanned(extra, "a statement is one step: remove this `#[step]`"));
                    }
                    let stmt = self.step(&attr, stmt);
                    block.stmts.push(stmt);
                }
                (first, opaque) => {
                    if let (Some(_), Some(what)) = (&first, opaque) {
                        for attr in first.iter().chain(steps.as_slice()) {
                            self.errors.push(syn::Error::new_spanned(
                                attr,
                                format!("`#[step]` inside {what} is not a step of the flow: steps are statements of the flow's own body"),
                            ));
                        }
                    }
                    self.visit_stmt_mut(&mut stmt);
                    block.stmts.push(stmt);
                }
            }
        }
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(c) => self.opaque("a closure", |w| w.visit_expr_mut(&mut c.body)),
            Expr::Async(a) => self.opaque("an async block", |w| w.visit_block_mut(&mut a.block)),
            Expr::Const(c) => self.opaque("a const block", |w| w.visit_block_mut(&mut c.block)),
            Expr::Try(t) if !self.steps.is_empty() && self.flow.expand => {
                self.visit_expr_mut(&mut t.expr);
                let checked = self.checked(&t.expr);
                *t.expr = syn::parse_quote!(#checked);
            }
            Expr::Await(a) if !self.steps.is_empty() && self.flow.expand && self.is_async => {
                self.visit_expr_mut(&mut a.base);
                let (p, base) = (self.flow.p, &a.base);
                let guard = self.steps.last().expect("inside a step");
                *a.base = syn::parse_quote!(#p::StepAwait::new(#base, &mut #guard));
            }
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => self.in_loop(expr),
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
