//! Conformance cases of the FiscalStore port.

/// Generates one `#[tokio::test]` per fiscal conformance case (none yet).
#[macro_export]
macro_rules! fiscal_suite {
    ($make:expr) => {};
}
