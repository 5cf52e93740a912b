//! Conformance cases of the AtolStore port.

/// Generates one `#[tokio::test]` per atol conformance case (none yet).
#[macro_export]
macro_rules! atol_suite {
    ($make:expr) => {};
}
