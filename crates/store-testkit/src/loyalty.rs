//! Conformance cases of the LoyaltyStore port.

/// Generates one `#[tokio::test]` per loyalty conformance case (none yet).
#[macro_export]
macro_rules! loyalty_suite {
    ($make:expr) => {};
}
