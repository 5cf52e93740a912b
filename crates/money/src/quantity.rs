//! [`Quantity`]: an exact count of goods in thousandths (grams of a kilogram,
//! millilitres of a litre, or pieces with three decimals), as fiscal receipts use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::{self, Mode};
use crate::error::MoneyError;

/// Decimal places of a quantity.
const SCALE: u32 = 3;
/// What a quantity looks like on the wire, for error messages.
const EXPECTING: &str = "quantity";

/// An exact quantity as a signed count of thousandths: `Quantity::ONE` is
/// 1.000 (one piece, one kilogram).
///
/// Three decimals is the precision fiscal documents carry for quantities; a
/// quantity is exact, only [`crate::Money::mul_quantity`] rounds the product.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(i64);

impl Quantity {
    /// Zero.
    pub const ZERO: Quantity = Quantity(0);
    /// Exactly one unit (1.000).
    pub const ONE: Quantity = Quantity(1000);

    /// A quantity of `thousandths` / 1000 units.
    #[must_use]
    pub const fn from_thousandths(thousandths: i64) -> Quantity {
        Quantity(thousandths)
    }

    /// The quantity in thousandths of a unit.
    #[must_use]
    pub const fn thousandths(self) -> i64 {
        self.0
    }

    /// Whether the quantity is exactly zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the quantity is below zero.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, rhs: Quantity) -> Option<Quantity> {
        match self.0.checked_add(rhs.0) {
            Some(thousandths) => Some(Quantity(thousandths)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_sub(self, rhs: Quantity) -> Option<Quantity> {
        match self.0.checked_sub(rhs.0) {
            Some(thousandths) => Some(Quantity(thousandths)),
            None => None,
        }
    }

    /// Parses an exact quantity: optional `-`, digits, optional `.` and one to
    /// three decimals ("1", "0.5", "2.125"). More decimals are an error rather
    /// than silently rounded.
    ///
    /// # Errors
    /// [`MoneyError::Invalid`] for text outside the grammar (including an
    /// exponent), [`MoneyError::TooManyDecimals`], [`MoneyError::Overflow`].
    pub fn parse(text: &str) -> Result<Quantity, MoneyError> {
        decimal::parse_scaled(text, SCALE, Mode::Strict).map(Quantity)
    }

    /// Parses a decimal with any number of decimals, and optionally an
    /// exponent, rounding half away from zero to thousandths
    /// ("0.0005" → 0.001, "1.2344" → 1.234).
    ///
    /// # Errors
    /// [`MoneyError::Invalid`] for text outside the grammar,
    /// [`MoneyError::Overflow`] if the rounded value does not fit.
    pub fn parse_rounded(text: &str) -> Result<Quantity, MoneyError> {
        decimal::parse_scaled(text, SCALE, Mode::Rounded).map(Quantity)
    }

    /// Always three decimals: "1.000", "0.500". For layouts with fixed columns.
    #[must_use]
    pub fn format_fixed(self) -> String {
        decimal::format_fixed(self.0, SCALE, '.')
    }
}

impl fmt::Display for Quantity {
    /// The shortest exact form: "1", "0.5", "2.125".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&decimal::format_shortest(self.0, SCALE))
    }
}

impl FromStr for Quantity {
    type Err = MoneyError;

    /// Same as [`Quantity::parse`] (strict).
    fn from_str(text: &str) -> Result<Quantity, MoneyError> {
        Quantity::parse(text)
    }
}

impl Serialize for Quantity {
    /// A JSON number in the shortest exact form (`1`, `0.5`, `2.125`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal::serialize_number(&self.to_string(), serializer)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// A JSON number or string, parsed strictly (at most three decimals).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        decimal::deserialize_scaled(deserializer, SCALE, Mode::Strict, EXPECTING).map(Quantity)
    }
}

/// `#[serde(with = "kassa_money::quantity::serde_rounded")]`: accept any
/// number of decimals (or an exponent) and round half away from zero to
/// thousandths. Serializes like [`Quantity`].
pub mod serde_rounded {
    use super::{EXPECTING, Quantity, SCALE};
    use crate::decimal::{self, Mode};
    use serde::{Deserializer, Serialize, Serializer};

    /// Writes the quantity like [`Quantity`]'s own `Serialize`.
    pub fn serialize<S: Serializer>(value: &Quantity, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    /// Reads a JSON number or string and rounds it with [`Quantity::parse_rounded`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Quantity, D::Error> {
        decimal::deserialize_scaled(deserializer, SCALE, Mode::Rounded, EXPECTING).map(Quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Line {
        quantity: Quantity,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct RoundedLine {
        #[serde(with = "crate::quantity::serde_rounded")]
        quantity: Quantity,
    }

    #[test]
    fn parse_examples() {
        assert_eq!(Quantity::parse("1"), Ok(Quantity::ONE));
        assert_eq!(Quantity::parse("0.5"), Ok(Quantity::from_thousandths(500)));
        assert_eq!(
            Quantity::parse("2.125"),
            Ok(Quantity::from_thousandths(2125))
        );
        assert_eq!(
            Quantity::parse("-0.001"),
            Ok(Quantity::from_thousandths(-1))
        );
        assert_eq!(Quantity::parse("1.2345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Quantity::parse("1e3"), Err(MoneyError::Invalid));
        assert_eq!(Quantity::parse(".5"), Err(MoneyError::Invalid));
        assert_eq!(
            Quantity::parse("9223372036854775.808"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            "3.5".parse::<Quantity>(),
            Ok(Quantity::from_thousandths(3500))
        );
    }

    #[test]
    fn parse_rounded_examples() {
        assert_eq!(
            Quantity::parse_rounded("0.0005"),
            Ok(Quantity::from_thousandths(1))
        );
        assert_eq!(
            Quantity::parse_rounded("-0.0005"),
            Ok(Quantity::from_thousandths(-1))
        );
        assert_eq!(
            Quantity::parse_rounded("1.2344"),
            Ok(Quantity::from_thousandths(1234))
        );
        assert_eq!(
            Quantity::parse_rounded("1.5e-3"),
            Ok(Quantity::from_thousandths(2))
        );
        assert_eq!(
            Quantity::parse_rounded("2E1"),
            Ok(Quantity::from_thousandths(20_000))
        );
    }

    #[test]
    fn display_is_shortest_and_format_fixed_is_not() {
        assert_eq!(Quantity::ONE.to_string(), "1");
        assert_eq!(Quantity::from_thousandths(500).to_string(), "0.5");
        assert_eq!(Quantity::from_thousandths(2125).to_string(), "2.125");
        assert_eq!(Quantity::from_thousandths(-20).to_string(), "-0.02");
        assert_eq!(Quantity::from_thousandths(10_000).to_string(), "10");
        assert_eq!(Quantity::ZERO.to_string(), "0");
        assert_eq!(Quantity::ONE.format_fixed(), "1.000");
        assert_eq!(Quantity::from_thousandths(-500).format_fixed(), "-0.500");
    }

    #[test]
    fn checked_arithmetic() {
        let half = Quantity::from_thousandths(500);
        assert_eq!(half.checked_add(half), Some(Quantity::ONE));
        assert_eq!(
            half.checked_sub(Quantity::ONE),
            Some(Quantity::from_thousandths(-500))
        );
        assert_eq!(
            Quantity::from_thousandths(i64::MAX).checked_add(Quantity::ONE),
            None
        );
        assert!(Quantity::ZERO.is_zero());
        assert!(Quantity::from_thousandths(-1).is_negative());
    }

    #[test]
    fn json() {
        let line: Line = serde_json::from_str(r#"{"quantity": 0.5}"#).expect("deserializes");
        assert_eq!(line.quantity, Quantity::from_thousandths(500));
        let line: Line = serde_json::from_str(r#"{"quantity": 2}"#).expect("deserializes");
        assert_eq!(line.quantity, Quantity::from_thousandths(2000));
        let line: Line = serde_json::from_str(r#"{"quantity": "1.250"}"#).expect("deserializes");
        assert_eq!(line.quantity, Quantity::from_thousandths(1250));
        assert!(serde_json::from_str::<Line>(r#"{"quantity": 0.0005}"#).is_err());

        let json = |thousandths| {
            serde_json::to_string(&Line {
                quantity: Quantity::from_thousandths(thousandths),
            })
            .expect("serializes")
        };
        assert_eq!(json(1000), r#"{"quantity":1}"#);
        assert_eq!(json(500), r#"{"quantity":0.5}"#);
        assert_eq!(json(2125), r#"{"quantity":2.125}"#);
        assert_eq!(json(-1), r#"{"quantity":-0.001}"#);

        let rounded: RoundedLine =
            serde_json::from_str(r#"{"quantity": 0.0005}"#).expect("deserializes");
        assert_eq!(rounded.quantity, Quantity::from_thousandths(1));
    }

    proptest! {
        #[test]
        fn parse_display_roundtrip(thousandths in any::<i64>()) {
            let quantity = Quantity::from_thousandths(thousandths);
            prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
            prop_assert_eq!(Quantity::parse(&quantity.format_fixed()), Ok(quantity));
        }

        #[test]
        fn json_roundtrip(thousandths in any::<i64>()) {
            let original = Line { quantity: Quantity::from_thousandths(thousandths) };
            let json = serde_json::to_string(&original).expect("serializes");
            prop_assert_eq!(serde_json::from_str::<Line>(&json).expect("deserializes"), original);
        }

        #[test]
        fn rounding_is_idempotent(text in "-?[0-9]{1,12}\\.[0-9]{1,9}") {
            let once = Quantity::parse_rounded(&text).expect("in range");
            prop_assert_eq!(Quantity::parse_rounded(&once.to_string()), Ok(once));
        }

        #[test]
        fn half_boundaries_round_away_from_zero(negative in any::<bool>(), magnitude in 0i64..1_000_000_000_000) {
            let sign = if negative { "-" } else { "" };
            let text = format!("{sign}{}.{:03}5", magnitude / 1000, magnitude % 1000);
            let expected = if negative { -(magnitude + 1) } else { magnitude + 1 };
            prop_assert_eq!(Quantity::parse_rounded(&text), Ok(Quantity::from_thousandths(expected)));
        }
    }
}
