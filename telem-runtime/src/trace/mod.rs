//! What a span is, from the call site to the record it becomes: static call sites, the open span and
//! its guards (`span`, `future`), the context that links spans (`context`), attribute values, and the
//! fixed-size record written into a ring; spans the caller measured (`recorded`), steps, sampling.

pub(crate) mod callsite;
pub(crate) mod context;
pub(crate) mod future;
pub(crate) mod record;
pub(crate) mod recorded;
pub(crate) mod sampler;
pub(crate) mod span;
pub(crate) mod step;
pub(crate) mod value;
