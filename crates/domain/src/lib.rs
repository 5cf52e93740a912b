//! Pure domain of Kassa.
//!
//! Owns the business types and rules shared by every protocol face: tenants and what is
//! provisioned for them (face credentials, register groups, virtual registers, loyalty keys and
//! rules, event sources). Later: fiscal register state machines, loyalty ledger, event model.
//!
//! May depend on `kassa-money`, serde and thiserror only. No IO, no async runtime, no database or
//! HTTP crates (a test in the server crate checks this with `cargo metadata`). Time and ids are
//! passed in by the caller.

pub mod provisioning;
pub mod loyalty;
