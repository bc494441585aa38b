//! Carrying a trace across process boundaries: W3C Trace Context (`traceparent`, `tracestate`) and
//! W3C Baggage, read from and written to any header carrier.

pub mod baggage;
mod traceparent;
pub mod tracestate;

pub use baggage::Baggage;
pub use traceparent::TraceparentError;
pub use tracestate::TraceState;
