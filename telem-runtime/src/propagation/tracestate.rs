//! W3C `tracestate`: vendor-specific trace data, an ordered list of `key=value` members.

/// A parsed `tracestate` (placeholder: filled in by the propagation work).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TraceState(Vec<(String, String)>);

impl TraceState {
    /// True when it has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
