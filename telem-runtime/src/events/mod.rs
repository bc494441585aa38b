//! Events and logs: severity levels, the level filter, structured events (span events and log
//! records), errors recorded the OpenTelemetry way, the panic hook and the fatal path, sessions.

pub(crate) mod capture;
pub(crate) mod emit;
pub(crate) mod exception;
pub(crate) mod fatal;
pub(crate) mod filter;
pub(crate) mod level;
#[cfg(feature = "log")]
pub mod log_bridge;
pub(crate) mod session;
