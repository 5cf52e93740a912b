//! [`Money`]: an exact amount in minor units (kopecks, tiyn).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::{self, Mode};
use crate::error::MoneyError;
use crate::quantity::Quantity;
use crate::rounding::div_round_half_away;

/// Decimal places of a money amount: rubles/tenge and kopecks/tiyn.
const SCALE: u32 = 2;
/// Minor units per major unit (`10^SCALE`).
const MINOR_PER_MAJOR: i64 = 100;
/// What a money value looks like on the wire, for error messages.
const EXPECTING: &str = "money amount";

/// An exact amount of money as a signed count of minor units (kopecks, tiyn),
/// always shown with two decimals.
///
/// Amounts are integers so that sums, differences and comparisons are exact;
/// the only operations that can create fractions of a minor unit
/// ([`Money::mul_quantity`], [`Money::mul_ratio`], [`crate::Percent::of`],
/// [`crate::VatRate::vat_of`], [`Money::parse_rounded`]) round once, half away
/// from zero.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    /// Zero money.
    pub const ZERO: Money = Money(0);

    /// An amount of `minor` kopecks/tiyn.
    #[must_use]
    pub const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    /// The amount in kopecks/tiyn.
    #[must_use]
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// A whole number of rubles/tenge, or `None` if it does not fit.
    #[must_use]
    pub const fn from_major(major: i64) -> Option<Money> {
        match major.checked_mul(MINOR_PER_MAJOR) {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// `self + rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, rhs: Money) -> Option<Money> {
        match self.0.checked_add(rhs.0) {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_sub(self, rhs: Money) -> Option<Money> {
        match self.0.checked_sub(rhs.0) {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// `-self`, or `None` for the one value without a negation (`i64::MIN` minor units).
    #[must_use]
    pub const fn checked_neg(self) -> Option<Money> {
        match self.0.checked_neg() {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// `|self|`, or `None` for `i64::MIN` minor units.
    #[must_use]
    pub const fn checked_abs(self) -> Option<Money> {
        match self.0.checked_abs() {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// `self × factor` for an integer factor, or `None` on overflow.
    #[must_use]
    pub const fn checked_mul_int(self, factor: i64) -> Option<Money> {
        match self.0.checked_mul(factor) {
            Some(minor) => Some(Money(minor)),
            None => None,
        }
    }

    /// The exact sum of `amounts`, or `None` if any partial sum overflows.
    ///
    /// `Option<Money>` also implements [`Sum`], so
    /// `amounts.iter().sum::<Option<Money>>()` does the same.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(amounts: I) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, Money::checked_add)
    }

    /// Whether the amount is exactly zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the amount is below zero.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `|self|`.
    ///
    /// # Panics
    /// Only for `i64::MIN` minor units, which has no positive counterpart; use
    /// [`Money::checked_abs`] where such a value can occur.
    #[must_use]
    pub const fn abs(self) -> Money {
        match self.checked_abs() {
            Some(abs) => abs,
            None => panic!("Money::abs overflowed: i64::MIN minor units has no absolute value"),
        }
    }

    /// Price × quantity, rounded half away from zero to whole minor units.
    ///
    /// This is the line total of a receipt position: 10.00 × 0.333 = 3.33,
    /// 0.05 × 0.5 = 0.03, -0.05 × 0.5 = -0.03. `None` if the result does not fit.
    #[must_use]
    pub fn mul_quantity(self, quantity: Quantity) -> Option<Money> {
        let exact_thousandths = i128::from(self.0) * i128::from(quantity.thousandths());
        Money::from_i128(div_round_half_away(
            exact_thousandths,
            Quantity::ONE.thousandths().into(),
        ))
    }

    /// `self × numerator / denominator`, rounded half away from zero.
    ///
    /// `None` if `denominator` is not positive or the result does not fit.
    /// The intermediate product is exact (i128), so no precision is lost
    /// before the single rounding step.
    #[must_use]
    pub fn mul_ratio(self, numerator: i64, denominator: i64) -> Option<Money> {
        if denominator <= 0 {
            return None;
        }
        let product = i128::from(self.0) * i128::from(numerator);
        Money::from_i128(div_round_half_away(product, denominator.into()))
    }

    /// Parses an exact amount: optional `-`, digits, optional `.` and one or two
    /// decimals ("12", "12.5", "-0.01").
    ///
    /// Anything that would need rounding is an error, so a value read from a
    /// document is never silently altered. Use [`Money::parse_rounded`] when
    /// rounding is the documented intent.
    ///
    /// # Errors
    /// [`MoneyError::Invalid`] for text outside the grammar (including an
    /// exponent), [`MoneyError::TooManyDecimals`], [`MoneyError::Overflow`].
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        decimal::parse_scaled(text, SCALE, Mode::Strict).map(Money)
    }

    /// Parses a decimal with any number of decimals, and optionally an exponent
    /// ("1e2", "1.5E-1") as JSON allows, rounding half away from zero to kopecks:
    /// "1.005" → 1.01, "-1.005" → -1.01, "1.004" → 1.00.
    ///
    /// The rounding is done on the decimal digits themselves, never via floats.
    ///
    /// # Errors
    /// [`MoneyError::Invalid`] for text outside the grammar,
    /// [`MoneyError::Overflow`] if the rounded value does not fit.
    pub fn parse_rounded(text: &str) -> Result<Money, MoneyError> {
        decimal::parse_scaled(text, SCALE, Mode::Rounded).map(Money)
    }

    /// The amount with two decimals and a custom separator, e.g. "12,50"
    /// for documents that use the Russian decimal comma.
    #[must_use]
    pub fn format_with(self, decimal_separator: char) -> String {
        decimal::format_fixed(self.0, SCALE, decimal_separator)
    }

    /// Narrows an exact i128 result, `None` if it does not fit in i64.
    fn from_i128(minor: i128) -> Option<Money> {
        i64::try_from(minor).ok().map(Money)
    }
}

impl fmt::Display for Money {
    /// Two decimals, '.' separator, '-' for negatives: "12.50", "-0.01", "0.00".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.format_with('.'))
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Same as [`Money::parse`] (strict).
    fn from_str(text: &str) -> Result<Money, MoneyError> {
        Money::parse(text)
    }
}

// The operator impls below are conveniences for code that adds amounts of a
// receipt. They panic on i64 overflow, which needs sums beyond ~92 quadrillion
// rubles; they use the checked methods so the panic happens in release builds
// too instead of wrapping silently. Use `checked_*` where inputs are untrusted.

impl Add for Money {
    type Output = Money;

    /// # Panics
    /// If the sum overflows i64 minor units.
    fn add(self, rhs: Money) -> Money {
        self.checked_add(rhs)
            .expect("Money addition overflowed i64 minor units")
    }
}

impl Sub for Money {
    type Output = Money;

    /// # Panics
    /// If the difference overflows i64 minor units.
    fn sub(self, rhs: Money) -> Money {
        self.checked_sub(rhs)
            .expect("Money subtraction overflowed i64 minor units")
    }
}

impl Neg for Money {
    type Output = Money;

    /// # Panics
    /// Only for `i64::MIN` minor units.
    fn neg(self) -> Money {
        self.checked_neg()
            .expect("Money negation overflowed i64 minor units")
    }
}

impl AddAssign for Money {
    /// # Panics
    /// If the sum overflows i64 minor units.
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl SubAssign for Money {
    /// # Panics
    /// If the difference overflows i64 minor units.
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

/// Overflow-checked summation: `None` if any partial sum overflows.
impl Sum<Money> for Option<Money> {
    fn sum<I: Iterator<Item = Money>>(amounts: I) -> Option<Money> {
        Money::checked_sum(amounts)
    }
}

/// Overflow-checked summation over references.
impl<'a> Sum<&'a Money> for Option<Money> {
    fn sum<I: Iterator<Item = &'a Money>>(amounts: I) -> Option<Money> {
        Money::checked_sum(amounts.copied())
    }
}

impl Serialize for Money {
    /// A JSON number with exactly two decimals (`12.50`, `0.00`), written verbatim.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal::serialize_number(&self.to_string(), serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// A JSON number or string, parsed strictly from its exact text
    /// (at most two decimals, no exponent).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        decimal::deserialize_scaled(deserializer, SCALE, Mode::Strict, EXPECTING).map(Money)
    }
}

/// `#[serde(with = "kassa_money::money::serde_rounded")]`: accept amounts with
/// any number of decimals (or an exponent) and round them half away from zero,
/// for upstream systems known to send e.g. `1.005`. Serializes like [`Money`].
pub mod serde_rounded {
    use super::{EXPECTING, Money, SCALE};
    use crate::decimal::{self, Mode};
    use serde::{Deserializer, Serialize, Serializer};

    /// Writes the amount like [`Money`]'s own `Serialize`.
    pub fn serialize<S: Serializer>(value: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }

    /// Reads a JSON number or string and rounds it to kopecks with [`Money::parse_rounded`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        decimal::deserialize_scaled(deserializer, SCALE, Mode::Rounded, EXPECTING).map(Money)
    }
}

/// `#[serde(with = "kassa_money::money::serde_minor")]`: the amount as an
/// integer count of minor units (`1250` for 12.50), as some cash register
/// protocols transmit it.
pub mod serde_minor {
    use super::Money;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the amount as an integer number of kopecks/tiyn.
    pub fn serialize<S: Serializer>(value: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.minor())
    }

    /// Reads an integer number of kopecks/tiyn.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        i64::deserialize(deserializer).map(Money::from_minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Strict {
        sum: Money,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Rounded {
        #[serde(with = "crate::money::serde_rounded")]
        sum: Money,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Minor {
        #[serde(with = "crate::money::serde_minor")]
        sum: Money,
    }

    fn m(text: &str) -> Money {
        Money::parse(text).expect("test literal must parse")
    }

    fn strict_json(json: &str) -> Result<Money, serde_json::Error> {
        serde_json::from_str::<Strict>(json).map(|s| s.sum)
    }

    fn rounded_json(json: &str) -> Result<Money, serde_json::Error> {
        serde_json::from_str::<Rounded>(json).map(|s| s.sum)
    }

    #[test]
    fn constructors_and_accessors() {
        assert_eq!(Money::ZERO.minor(), 0);
        assert_eq!(Money::default(), Money::ZERO);
        assert_eq!(Money::from_minor(1250).minor(), 1250);
        assert_eq!(Money::from_major(12), Some(Money::from_minor(1200)));
        assert_eq!(Money::from_major(i64::MAX / 100 + 1), None);
        assert!(Money::ZERO.is_zero());
        assert!(m("-0.01").is_negative());
        assert!(!Money::ZERO.is_negative());
    }

    #[test]
    fn checked_arithmetic() {
        let max = Money::from_minor(i64::MAX);
        let min = Money::from_minor(i64::MIN);
        assert_eq!(m("1.50").checked_add(m("2.75")), Some(m("4.25")));
        assert_eq!(max.checked_add(m("0.01")), None);
        assert_eq!(m("1").checked_sub(m("2.5")), Some(m("-1.5")));
        assert_eq!(min.checked_sub(m("0.01")), None);
        assert_eq!(m("3").checked_neg(), Some(m("-3")));
        assert_eq!(min.checked_neg(), None);
        assert_eq!(min.checked_abs(), None);
        assert_eq!(m("-3.10").abs(), m("3.10"));
        assert_eq!(m("0.99").checked_mul_int(3), Some(m("2.97")));
        assert_eq!(max.checked_mul_int(2), None);
    }

    #[test]
    fn operators() {
        let mut total = m("10.00") + m("0.50") - m("3.25");
        assert_eq!(total, m("7.25"));
        total += m("0.75");
        total -= m("1");
        assert_eq!(total, m("7"));
        assert_eq!(-total, m("-7"));
    }

    #[test]
    #[should_panic(expected = "overflowed")]
    fn add_panics_on_overflow_in_every_profile() {
        let _ = Money::from_minor(i64::MAX) + Money::from_minor(1);
    }

    #[test]
    fn checked_sums() {
        let amounts = [m("1.10"), m("2.20"), m("3.30")];
        assert_eq!(Money::checked_sum(amounts), Some(m("6.60")));
        assert_eq!(amounts.iter().sum::<Option<Money>>(), Some(m("6.60")));
        assert_eq!(amounts.into_iter().sum::<Option<Money>>(), Some(m("6.60")));
        assert_eq!(Money::checked_sum([]), Some(Money::ZERO));
        let too_big = [Money::from_minor(i64::MAX), Money::from_minor(1)];
        assert_eq!(too_big.iter().sum::<Option<Money>>(), None);
    }

    #[test]
    fn parse_accepts_plain_decimals() {
        assert_eq!(Money::parse("0"), Ok(Money::ZERO));
        assert_eq!(Money::parse("-0"), Ok(Money::ZERO));
        assert_eq!(Money::parse("12"), Ok(Money::from_minor(1200)));
        assert_eq!(Money::parse("12.5"), Ok(Money::from_minor(1250)));
        assert_eq!(Money::parse("12.50"), Ok(Money::from_minor(1250)));
        assert_eq!(Money::parse("-0.01"), Ok(Money::from_minor(-1)));
        assert_eq!("7.05".parse::<Money>(), Ok(Money::from_minor(705)));
    }

    #[test]
    fn parse_rejects_with_specific_errors() {
        for text in [
            "", "+1", ".5", "1.", "1e2", "1E2", " 1", "1 ", "1,50", "12.5.0", "abc",
        ] {
            assert_eq!(Money::parse(text), Err(MoneyError::Invalid), "{text:?}");
        }
        assert_eq!(Money::parse("1.234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(
            Money::parse("92233720368547758.08"),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("100000000000000000000"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn parse_rounded_rounds_half_away_from_zero() {
        assert_eq!(Money::parse_rounded("1.005"), Ok(m("1.01")));
        assert_eq!(Money::parse_rounded("-1.005"), Ok(m("-1.01")));
        assert_eq!(Money::parse_rounded("1.004"), Ok(m("1.00")));
        assert_eq!(Money::parse_rounded("-1.004"), Ok(m("-1.00")));
        assert_eq!(Money::parse_rounded("0.0049999"), Ok(Money::ZERO));
        assert_eq!(Money::parse_rounded("-0.005"), Ok(m("-0.01")));
        assert_eq!(Money::parse_rounded("2.675"), Ok(m("2.68")));
        assert_eq!(Money::parse_rounded("12.5"), Ok(m("12.50")));
        assert_eq!(Money::parse_rounded("1e2"), Ok(m("100")));
        assert_eq!(Money::parse_rounded("1.5E-1"), Ok(m("0.15")));
        assert_eq!(Money::parse_rounded("1.2345e1"), Ok(m("12.35")));
        assert_eq!(Money::parse_rounded("+1"), Err(MoneyError::Invalid));
        assert_eq!(Money::parse_rounded("1e400"), Err(MoneyError::Overflow));
    }

    #[test]
    fn display_and_format_with() {
        assert_eq!(m("12.5").to_string(), "12.50");
        assert_eq!(m("-0.01").to_string(), "-0.01");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(m("1234567.89").to_string(), "1234567.89");
        assert_eq!(m("12.5").format_with(','), "12,50");
        assert_eq!(m("-3").format_with(','), "-3,00");
        assert_eq!(format!("{:>8}", m("1.5")), "    1.50");
    }

    #[test]
    fn mul_quantity_examples() {
        let q = |text: &str| Quantity::parse(text).expect("test literal must parse");
        assert_eq!(m("10.00").mul_quantity(q("0.333")), Some(m("3.33")));
        assert_eq!(m("0.05").mul_quantity(q("0.5")), Some(m("0.03")));
        assert_eq!(m("-0.05").mul_quantity(q("0.5")), Some(m("-0.03")));
        assert_eq!(m("0.05").mul_quantity(q("-0.5")), Some(m("-0.03")));
        assert_eq!(m("99.99").mul_quantity(q("1")), Some(m("99.99")));
        assert_eq!(m("123.45").mul_quantity(q("2.5")), Some(m("308.63")));
        assert_eq!(m("1").mul_quantity(q("0.004")), Some(m("0.00")));
        assert_eq!(m("1").mul_quantity(q("0.005")), Some(m("0.01")));
        assert_eq!(Money::from_minor(i64::MAX).mul_quantity(q("2")), None);
        assert_eq!(
            Money::from_minor(i64::MAX).mul_quantity(Quantity::ONE),
            Some(Money::from_minor(i64::MAX))
        );
    }

    #[test]
    fn mul_ratio_examples() {
        assert_eq!(m("10").mul_ratio(1, 3), Some(m("3.33")));
        assert_eq!(m("10").mul_ratio(2, 3), Some(m("6.67")));
        assert_eq!(m("-10").mul_ratio(2, 3), Some(m("-6.67")));
        assert_eq!(m("0.01").mul_ratio(1, 2), Some(m("0.01")));
        assert_eq!(m("-0.01").mul_ratio(1, 2), Some(m("-0.01")));
        assert_eq!(m("1").mul_ratio(1, 0), None);
        assert_eq!(m("1").mul_ratio(1, -2), None);
        assert_eq!(Money::from_minor(i64::MAX).mul_ratio(3, 2), None);
        assert_eq!(
            Money::from_minor(i64::MAX).mul_ratio(i64::MAX, i64::MAX),
            Some(Money::from_minor(i64::MAX))
        );
    }

    #[test]
    fn json_numbers_deserialize_exactly() {
        assert_eq!(strict_json(r#"{"sum": 0.1}"#).ok(), Some(m("0.10")));
        assert_eq!(strict_json(r#"{"sum": 1200.00}"#).ok(), Some(m("1200")));
        assert_eq!(
            strict_json(r#"{"sum": 99999999.99}"#).ok(),
            Some(Money::from_minor(9_999_999_999))
        );
        assert_eq!(
            strict_json(r#"{"sum": 0.29}"#).ok(),
            Some(Money::from_minor(29))
        );
        assert_eq!(
            strict_json(r#"{"sum": -0.01}"#).ok(),
            Some(Money::from_minor(-1))
        );
        assert_eq!(strict_json(r#"{"sum": 15}"#).ok(), Some(m("15")));
        assert_eq!(strict_json(r#"{"sum": -15}"#).ok(), Some(m("-15")));
        assert_eq!(strict_json(r#"{"sum": "12.50"}"#).ok(), Some(m("12.5")));
        assert_eq!(
            strict_json(r#"{"sum": 92233720368547758.07}"#).ok(),
            Some(Money::from_minor(i64::MAX))
        );
    }

    #[test]
    fn strict_json_rejects_inexact_values() {
        let error = strict_json(r#"{"sum": 1.234}"#).expect_err("3 decimals must be rejected");
        assert!(
            error.to_string().contains("too many decimal places"),
            "{error}"
        );
        assert!(strict_json(r#"{"sum": 1e2}"#).is_err());
        assert!(strict_json(r#"{"sum": "1.5 "}"#).is_err());
        assert!(strict_json(r#"{"sum": null}"#).is_err());
        assert!(strict_json(r#"{"sum": true}"#).is_err());
        assert!(strict_json(r#"{"sum": [1]}"#).is_err());
        assert!(strict_json(r#"{"sum": 100000000000000000000}"#).is_err());
    }

    #[test]
    fn rounded_json_rounds() {
        assert_eq!(rounded_json(r#"{"sum": 1.234}"#).ok(), Some(m("1.23")));
        assert_eq!(rounded_json(r#"{"sum": 1.235}"#).ok(), Some(m("1.24")));
        assert_eq!(rounded_json(r#"{"sum": -1.235}"#).ok(), Some(m("-1.24")));
        assert_eq!(rounded_json(r#"{"sum": 1.5E-1}"#).ok(), Some(m("0.15")));
        assert_eq!(rounded_json(r#"{"sum": "2.675"}"#).ok(), Some(m("2.68")));
        assert_eq!(rounded_json(r#"{"sum": 7}"#).ok(), Some(m("7")));
        let back = serde_json::to_string(&Rounded { sum: m("1.23") }).expect("serializes");
        assert_eq!(back, r#"{"sum":1.23}"#);
    }

    #[test]
    fn serializes_as_number_with_two_decimals() {
        let json = |sum: Money| serde_json::to_string(&Strict { sum }).expect("serializes");
        assert_eq!(json(m("12.5")), r#"{"sum":12.50}"#);
        assert_eq!(json(Money::ZERO), r#"{"sum":0.00}"#);
        assert_eq!(json(m("-0.01")), r#"{"sum":-0.01}"#);
        assert_eq!(json(m("1200")), r#"{"sum":1200.00}"#);
        assert_eq!(
            json(Money::from_minor(i64::MIN)),
            r#"{"sum":-92233720368547758.08}"#
        );
    }

    #[test]
    fn works_through_serde_json_value() {
        for text in ["0.1", "12.5", "12.50", "0.01", "99999999.99", "7", "-3.3"] {
            let value: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            assert_eq!(
                serde_json::from_value::<Money>(value).ok(),
                Some(m(text)),
                "{text}"
            );
        }
        let value = serde_json::to_value(m("12.5")).expect("serializes");
        assert_eq!(value.to_string(), "12.50");
        assert_eq!(serde_json::from_value::<Money>(value).ok(), Some(m("12.5")));
    }

    #[test]
    fn serde_minor_uses_integer_kopecks() {
        let json = serde_json::to_string(&Minor { sum: m("12.50") }).expect("serializes");
        assert_eq!(json, r#"{"sum":1250}"#);
        let back: Minor = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back.sum, m("12.50"));
        assert!(serde_json::from_str::<Minor>(r#"{"sum": 12.5}"#).is_err());
    }

    /// Exact reference for price × quantity: |n| / 1000 plus one when the
    /// remainder is at least half, with the sign of n. (|n| <= 2^126, so this
    /// form avoids the doubling that would overflow at the extremes.)
    fn reference_mul(price: i64, thousandths: i64) -> Option<Money> {
        let n = i128::from(price) * i128::from(thousandths);
        let magnitude = n.abs() / 1000 + i128::from(n.abs() % 1000 >= 500);
        let rounded = if n < 0 { -magnitude } else { magnitude };
        i64::try_from(rounded).ok().map(Money::from_minor)
    }

    proptest! {
        #[test]
        fn parse_display_roundtrip(minor in any::<i64>()) {
            let money = Money::from_minor(minor);
            prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
            prop_assert_eq!(Money::parse_rounded(&money.to_string()), Ok(money));
        }

        #[test]
        fn json_roundtrip(minor in any::<i64>()) {
            let original = Strict { sum: Money::from_minor(minor) };
            let json = serde_json::to_string(&original).expect("serializes");
            prop_assert_eq!(serde_json::from_str::<Strict>(&json).expect("deserializes"), original);
        }

        #[test]
        fn rounding_is_idempotent_and_exact(
            negative in any::<bool>(),
            whole in 0u64..1_000_000_000_000,
            fraction in "[0-9]{1,12}",
        ) {
            let sign = if negative { "-" } else { "" };
            let text = format!("{sign}{whole}.{fraction}");
            let once = Money::parse_rounded(&text).expect("in range");
            prop_assert_eq!(Money::parse_rounded(&once.to_string()), Ok(once));
            prop_assert_eq!(Money::parse(&once.to_string()), Ok(once));

            // Reference: the whole decimal as an integer over 10^k, rounded with
            // an independent formula.
            let digits = fraction.len() as u32;
            let exact = i128::from(whole) * 10i128.pow(digits) + fraction.parse::<i128>().expect("digits");
            let divisor = 10i128.pow(digits) / 100;
            let expected = if digits <= 2 {
                exact * 10i128.pow(2 - digits)
            } else {
                (2 * exact + divisor) / (2 * divisor)
            };
            let expected = if negative { -expected } else { expected };
            prop_assert_eq!(i128::from(once.minor()), expected);
        }

        #[test]
        fn half_boundaries_round_away_from_zero(negative in any::<bool>(), magnitude in 0u64..10_000_000_000_000) {
            let sign = if negative { "-" } else { "" };
            let base = format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100);
            let signed = |m: u64| -> i64 {
                let m = i64::try_from(m).expect("small");
                if negative { -m } else { m }
            };
            prop_assert_eq!(Money::parse_rounded(&format!("{base}5")), Ok(Money::from_minor(signed(magnitude + 1))));
            prop_assert_eq!(Money::parse_rounded(&format!("{base}4999")), Ok(Money::from_minor(signed(magnitude))));
            prop_assert_eq!(Money::parse_rounded(&format!("{base}50001")), Ok(Money::from_minor(signed(magnitude + 1))));
            prop_assert_eq!(Money::parse(&format!("{base}5")), Err(MoneyError::TooManyDecimals));
        }

        #[test]
        fn mul_quantity_matches_rational_reference(
            price in -1_000_000_000_000_000i64..1_000_000_000_000_000,
            thousandths in -1_000_000_000_000i64..1_000_000_000_000,
        ) {
            let result = Money::from_minor(price).mul_quantity(Quantity::from_thousandths(thousandths));
            prop_assert_eq!(result, reference_mul(price, thousandths));
        }

        #[test]
        fn mul_quantity_full_range_never_panics(price in any::<i64>(), thousandths in any::<i64>()) {
            let result = Money::from_minor(price).mul_quantity(Quantity::from_thousandths(thousandths));
            prop_assert_eq!(result, reference_mul(price, thousandths));
        }
    }
}
