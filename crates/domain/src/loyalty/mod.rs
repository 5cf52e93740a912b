//! The Frontol loyalty domain (frontol-loyalty.md): request parsing and validation ([`wire`]),
//! FrontolAuth ([`auth`]), the rules engine with exact distributions ([`engine`]), the bonus
//! ledger model ([`ledger`]) and the canonical response bodies ([`response`]).
//!
//! Pure: no IO, no clock, no randomness — time, codes and stored state are passed in.

pub mod auth;
pub mod engine;
pub mod ledger;
pub mod response;
pub mod wire;
