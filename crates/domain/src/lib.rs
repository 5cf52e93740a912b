//! Pure domain of Kassa.
//!
//! Owns the business types and rules shared by every protocol face: tenants and what is
//! provisioned for them (face credentials, register groups, virtual registers, loyalty keys and
//! rules, event sources) the fiscal register state machines ([`fiscal`], [`kz`]), ATOL documents
//! ([`atol`]) and POS events ([`events`]).
//!
//! May depend on `kassa-money`, serde, serde_json, thiserror, hmac, sha2 and hex only. No IO, no async runtime, no database or
//! HTTP crates (a test in the server crate checks this with `cargo metadata`). Time and ids are
//! passed in by the caller.

pub mod atol;
pub mod events;
pub mod fiscal;
pub mod json;
pub mod kz;
pub mod provisioning;
pub mod loyalty;
