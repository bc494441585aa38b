//! W3C Baggage: application-defined key/value pairs that travel with the trace.

/// Parsed `baggage` (placeholder: filled in by the propagation work).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Baggage(Vec<(String, String)>);

impl Baggage {
    /// True when it has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
