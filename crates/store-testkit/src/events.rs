//! Conformance cases of the EventStore port.

/// Generates one `#[tokio::test]` per events conformance case (none yet).
#[macro_export]
macro_rules! events_suite {
    ($make:expr) => {};
}
