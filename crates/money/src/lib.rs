//! placeholder until the real crate lands
use serde::{Deserialize, Serialize};
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Money(i64);
impl Money { pub fn from_minor(v: i64) -> Self { Self(v) } pub fn minor(self) -> i64 { self.0 } pub fn is_negative(self) -> bool { self.0 < 0 } }
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Percent(i64);
impl Percent { pub fn from_basis_points(v: i64) -> Self { Self(v) } pub fn basis_points(self) -> i64 { self.0 } }
