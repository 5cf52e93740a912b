//! [`Percent`] with two decimals, and the VAT rates of Russian and Kazakh
//! fiscal receipts ([`VatRate`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decimal::{self, Mode};
use crate::error::MoneyError;
use crate::money::Money;

/// Decimal places of a percentage.
const SCALE: u32 = 2;
/// Basis points in 100 %.
const BASIS_POINTS_PER_WHOLE: i64 = 10_000;
/// What a percentage looks like on the wire, for error messages.
const EXPECTING: &str = "percentage";

/// A percentage with two decimals, stored in basis points: 100.00 % is
/// `10_000`, 12.5 % is `1_250`, 0.01 % is `1`.
///
/// Discounts and tax rates are quoted with at most two decimals; storing the
/// integer basis points keeps them exact.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(i64);

impl Percent {
    /// 0 %.
    pub const ZERO: Percent = Percent(0);
    /// 100 %.
    pub const ONE_HUNDRED: Percent = Percent(BASIS_POINTS_PER_WHOLE);

    /// A percentage of `basis_points` / 100 percent (1 bp = 0.01 %).
    #[must_use]
    pub const fn from_basis_points(basis_points: i64) -> Percent {
        Percent(basis_points)
    }

    /// The percentage in basis points (hundredths of a percent).
    #[must_use]
    pub const fn basis_points(self) -> i64 {
        self.0
    }

    /// Parses an exact percentage without the '%' sign: "10", "12.5",
    /// "0.01", "-5"; at most two decimals.
    ///
    /// # Errors
    /// [`MoneyError::Invalid`] for text outside the grammar (including an
    /// exponent), [`MoneyError::TooManyDecimals`], [`MoneyError::Overflow`].
    pub fn parse(text: &str) -> Result<Percent, MoneyError> {
        decimal::parse_scaled(text, SCALE, Mode::Strict).map(Percent)
    }

    /// `amount × self`, rounded half away from zero to kopecks, or `None` if the
    /// result does not fit (possible only for percentages beyond ±100 %).
    #[must_use]
    pub fn checked_of(self, amount: Money) -> Option<Money> {
        amount.mul_ratio(self.0, BASIS_POINTS_PER_WHOLE)
    }

    /// `amount × self`, rounded half away from zero to kopecks: 10 % of 12.35
    /// is 1.24. The product is computed exactly in i128 before rounding once.
    ///
    /// # Panics
    /// If the result does not fit in i64 minor units, which needs a
    /// percentage beyond ±100 % of an amount near the i64 limit (or -100 % of
    /// the most negative amount); use [`Percent::checked_of`] for untrusted rates.
    #[must_use]
    pub fn of(self, amount: Money) -> Money {
        self.checked_of(amount)
            .expect("Percent::of overflowed i64 minor units; use checked_of")
    }
}

impl fmt::Display for Percent {
    /// The shortest exact form without '%': "10", "12.5", "0.01".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&decimal::format_shortest(self.0, SCALE))
    }
}

impl FromStr for Percent {
    type Err = MoneyError;

    /// Same as [`Percent::parse`].
    fn from_str(text: &str) -> Result<Percent, MoneyError> {
        Percent::parse(text)
    }
}

impl Serialize for Percent {
    /// A JSON number in the shortest exact form (`10`, `12.5`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal::serialize_number(&self.to_string(), serializer)
    }
}

impl<'de> Deserialize<'de> for Percent {
    /// A JSON number or string, parsed strictly (at most two decimals).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        decimal::deserialize_scaled(deserializer, SCALE, Mode::Strict, EXPECTING).map(Percent)
    }
}

/// A VAT rate as printed on a fiscal receipt.
///
/// Russia: the rates of Tax Code art. 164 as transmitted in the "VAT rate"
/// requisite of receipts under Federal Law 54-FZ — 0 %, 10 %, 20 % (18 %
/// before 2019), 22 % (from 2026), 5 % and 7 % (simplified-tax payers, from
/// 2025), "no VAT", and the calculated rates 10/110, 18/118, 20/120, 5/105,
/// 7/107, 22/122 used when the tax is carved out of a gross amount such as a
/// prepayment. Kazakhstan: the 12 % VAT of its Tax Code ([`VatRate::Vat12`]).
///
/// The wire codes differ between protocols, so mapping to and from them is
/// left to the protocol crates.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VatRate {
    /// Not subject to VAT ("без НДС").
    None,
    /// 0 % (exports and other zero-rated supplies).
    Vat0,
    /// 10 % (reduced rate: food, children's goods, medicines…).
    Vat10,
    /// 18 % (Russian standard rate until 2019).
    Vat18,
    /// 20 % (Russian standard rate 2019–2025).
    Vat20,
    /// Calculated rate 10/110.
    Vat110,
    /// Calculated rate 18/118.
    Vat118,
    /// Calculated rate 20/120.
    Vat120,
    /// 12 %: Kazakhstan's VAT rate.
    Vat12,
    /// 5 % (Russian simplified-tax payers).
    Vat5,
    /// 7 % (Russian simplified-tax payers).
    Vat7,
    /// Calculated rate 5/105.
    Vat105,
    /// Calculated rate 7/107.
    Vat107,
    /// 22 % (Russian standard rate from 2026).
    Vat22,
    /// Calculated rate 22/122.
    Vat122,
}

impl VatRate {
    /// Every rate, for exhaustive tests and lookup tables.
    pub const ALL: [VatRate; 15] = [
        VatRate::None,
        VatRate::Vat0,
        VatRate::Vat10,
        VatRate::Vat18,
        VatRate::Vat20,
        VatRate::Vat110,
        VatRate::Vat118,
        VatRate::Vat120,
        VatRate::Vat12,
        VatRate::Vat5,
        VatRate::Vat7,
        VatRate::Vat105,
        VatRate::Vat107,
        VatRate::Vat22,
        VatRate::Vat122,
    ];

    /// The rate r in whole percent; "no VAT" counts as 0.
    const fn whole_percent(self) -> i64 {
        match self {
            VatRate::None | VatRate::Vat0 => 0,
            VatRate::Vat5 | VatRate::Vat105 => 5,
            VatRate::Vat7 | VatRate::Vat107 => 7,
            VatRate::Vat10 | VatRate::Vat110 => 10,
            VatRate::Vat12 => 12,
            VatRate::Vat18 | VatRate::Vat118 => 18,
            VatRate::Vat20 | VatRate::Vat120 => 20,
            VatRate::Vat22 | VatRate::Vat122 => 22,
        }
    }

    /// Whether this is a calculated rate (r/(100+r)), as opposed to a plain one.
    ///
    /// Both give the same tax for the same gross amount; receipts distinguish
    /// them (e.g. prepayments use the calculated form).
    #[must_use]
    pub const fn is_calculated(self) -> bool {
        matches!(
            self,
            VatRate::Vat110
                | VatRate::Vat118
                | VatRate::Vat120
                | VatRate::Vat105
                | VatRate::Vat107
                | VatRate::Vat122
        )
    }

    /// The rate as a percentage (10/110 → 10 %), or `None` when the position
    /// is not subject to VAT. `Vat0` is `Some(0 %)`: zero-rated is not exempt.
    #[must_use]
    pub const fn percent(self) -> Option<Percent> {
        match self {
            VatRate::None => None,
            rate => Some(Percent(rate.whole_percent() * 100)),
        }
    }

    /// The VAT contained in a VAT-inclusive (`gross`) amount:
    /// gross × r / (100 + r), rounded half away from zero to kopecks.
    ///
    /// Plain and calculated spellings of a rate give the same result; `Vat0`
    /// and `None` give zero. Example: 20 % of a gross 120.00 is 20.00, 10 % of
    /// a gross 100.00 is 9.09.
    #[must_use]
    pub fn vat_of(self, gross: Money) -> Money {
        let rate = self.whole_percent();
        // The factor r / (100 + r) is below 1, so the rounded tax is never
        // larger in magnitude than `gross` and always fits: `None` is impossible.
        gross
            .mul_ratio(rate, 100 + rate)
            .expect("VAT is smaller in magnitude than the gross amount")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(text: &str) -> Money {
        Money::parse(text).expect("test literal must parse")
    }

    fn p(text: &str) -> Percent {
        Percent::parse(text).expect("test literal must parse")
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(p("10").basis_points(), 1000);
        assert_eq!(p("12.5").basis_points(), 1250);
        assert_eq!(p("0.01").basis_points(), 1);
        assert_eq!(p("100"), Percent::ONE_HUNDRED);
        assert_eq!(p("-5").basis_points(), -500);
        assert_eq!(Percent::parse("12.345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Percent::parse("10%"), Err(MoneyError::Invalid));
        assert_eq!(Percent::parse("1e1"), Err(MoneyError::Invalid));
        assert_eq!(p("10").to_string(), "10");
        assert_eq!(p("12.50").to_string(), "12.5");
        assert_eq!(p("0.01").to_string(), "0.01");
        assert_eq!(Percent::ZERO.to_string(), "0");
        assert_eq!("7".parse::<Percent>(), Ok(Percent::from_basis_points(700)));
    }

    #[test]
    fn of_rounds_half_away_from_zero() {
        assert_eq!(p("10").of(m("12.35")), m("1.24"));
        assert_eq!(p("10").of(m("-12.35")), m("-1.24"));
        assert_eq!(p("10").of(m("12.34")), m("1.23"));
        assert_eq!(p("12.5").of(m("100")), m("12.50"));
        assert_eq!(p("0.01").of(m("49.99")), m("0.00"));
        assert_eq!(p("0.01").of(m("50")), m("0.01"));
        assert_eq!(
            Percent::ONE_HUNDRED.of(Money::from_minor(i64::MAX)),
            Money::from_minor(i64::MAX)
        );
        assert_eq!(Percent::ZERO.of(m("123.45")), Money::ZERO);
        assert_eq!(p("200").checked_of(Money::from_minor(i64::MAX)), None);
        assert_eq!(p("-100").checked_of(Money::from_minor(i64::MIN)), None);
    }

    #[test]
    fn json() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Discount {
            percent: Percent,
        }
        let from_number: Discount = serde_json::from_str(r#"{"percent": 12.5}"#).expect("number");
        let from_string: Discount = serde_json::from_str(r#"{"percent": "12.5"}"#).expect("string");
        assert_eq!(from_number.percent, p("12.5"));
        assert_eq!(from_string.percent, p("12.5"));
        assert!(serde_json::from_str::<Discount>(r#"{"percent": 12.345}"#).is_err());
        assert_eq!(
            serde_json::to_string(&from_number).expect("serializes"),
            r#"{"percent":12.5}"#
        );
        assert_eq!(
            serde_json::to_string(&Discount { percent: p("20") }).expect("serializes"),
            r#"{"percent":20}"#
        );
    }

    #[test]
    fn vat_rates() {
        assert_eq!(VatRate::Vat20.vat_of(m("120")), m("20"));
        assert_eq!(VatRate::Vat120.vat_of(m("120")), m("20"));
        assert_eq!(VatRate::Vat10.vat_of(m("100")), m("9.09"));
        assert_eq!(VatRate::Vat110.vat_of(m("110")), m("10"));
        assert_eq!(VatRate::Vat18.vat_of(m("118")), m("18"));
        assert_eq!(VatRate::Vat12.vat_of(m("112")), m("12"));
        assert_eq!(VatRate::Vat12.vat_of(m("1000")), m("107.14"));
        assert_eq!(VatRate::Vat5.vat_of(m("105")), m("5"));
        assert_eq!(VatRate::Vat7.vat_of(m("100")), m("6.54"));
        assert_eq!(VatRate::Vat22.vat_of(m("122")), m("22"));
        assert_eq!(VatRate::Vat22.vat_of(m("100")), m("18.03"));
        assert_eq!(VatRate::Vat20.vat_of(m("-120")), m("-20"));
        // 0.03 × 20/120 = 0.005 exactly: a tie, rounded away from zero.
        assert_eq!(VatRate::Vat20.vat_of(m("0.03")), m("0.01"));
        assert_eq!(VatRate::Vat20.vat_of(m("-0.03")), m("-0.01"));
        assert_eq!(VatRate::Vat0.vat_of(m("100")), Money::ZERO);
        assert_eq!(VatRate::None.vat_of(m("100")), Money::ZERO);
    }

    #[test]
    fn vat_percent_and_kind() {
        assert_eq!(VatRate::None.percent(), None);
        assert_eq!(VatRate::Vat0.percent(), Some(Percent::ZERO));
        assert_eq!(VatRate::Vat120.percent(), Some(p("20")));
        assert_eq!(VatRate::Vat12.percent(), Some(p("12")));
        assert_eq!(VatRate::Vat122.percent(), Some(p("22")));
        let calculated: Vec<VatRate> = VatRate::ALL
            .into_iter()
            .filter(|rate| rate.is_calculated())
            .collect();
        assert_eq!(
            calculated,
            [
                VatRate::Vat110,
                VatRate::Vat118,
                VatRate::Vat120,
                VatRate::Vat105,
                VatRate::Vat107,
                VatRate::Vat122
            ]
        );
    }

    #[test]
    fn vat_extremes_do_not_panic() {
        for rate in VatRate::ALL {
            for minor in [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX] {
                let vat = rate.vat_of(Money::from_minor(minor));
                assert!(vat.minor().unsigned_abs() <= minor.unsigned_abs());
            }
        }
    }

    proptest! {
        #[test]
        fn parse_display_roundtrip(basis_points in any::<i64>()) {
            let percent = Percent::from_basis_points(basis_points);
            prop_assert_eq!(Percent::parse(&percent.to_string()), Ok(percent));
        }

        #[test]
        fn plain_and_calculated_rates_agree(minor in any::<i64>()) {
            let gross = Money::from_minor(minor);
            for (plain, calculated) in [
                (VatRate::Vat10, VatRate::Vat110),
                (VatRate::Vat18, VatRate::Vat118),
                (VatRate::Vat20, VatRate::Vat120),
                (VatRate::Vat5, VatRate::Vat105),
                (VatRate::Vat7, VatRate::Vat107),
                (VatRate::Vat22, VatRate::Vat122),
            ] {
                prop_assert_eq!(plain.vat_of(gross), calculated.vat_of(gross));
            }
        }

        #[test]
        fn vat_is_within_half_a_kopeck_of_exact(minor in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            for rate in VatRate::ALL {
                let r = i128::from(rate.whole_percent());
                let vat = i128::from(rate.vat_of(Money::from_minor(minor)).minor());
                // |vat - gross·r/(100+r)| <= 1/2  ⇔  |2·vat·(100+r) - 2·gross·r| <= 100+r
                let error = (2 * vat * (100 + r) - 2 * i128::from(minor) * r).abs();
                prop_assert!(error <= 100 + r);
            }
        }
    }
}
