//! The crate's single rounding policy: half away from zero.
//!
//! Fiscal documents (54-FZ receipts, Kazakh OFD receipts) and accounting
//! practice round a half minor unit up in magnitude, so 0.005 becomes 0.01 and
//! -0.005 becomes -0.01. Keeping the decision in one function means every
//! computed amount in the crate — products, percentages, VAT, parsed values —
//! rounds the same way.

/// Divides `n` by `d` and rounds the exact quotient half away from zero.
///
/// `d` must be positive; every caller passes a positive constant or a
/// denominator it has already checked.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> i128 {
    debug_assert!(
        d > 0,
        "div_round_half_away needs a positive divisor, got {d}"
    );
    // `/` and `%` truncate toward zero, so `quotient` is the result rounded
    // toward zero and `remainder` carries the sign of `n`.
    let quotient = n / d;
    // |remainder| < d <= i128::MAX, so `abs` cannot overflow.
    let remainder = (n % d).abs();
    // "remainder is at least half of d", written without computing 2 * remainder
    // (which could overflow for huge d).
    if remainder >= d - remainder {
        // The remainder is non-zero here, hence so is `n`; step away from zero.
        quotient + n.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::div_round_half_away;
    use proptest::prelude::*;

    /// Independent reference: sign(n) * floor((2|n| + d) / 2d).
    fn reference(n: i128, d: i128) -> i128 {
        let magnitude = (2 * n.abs() + d) / (2 * d);
        if n < 0 { -magnitude } else { magnitude }
    }

    #[test]
    fn halves_round_away_from_zero() {
        assert_eq!(div_round_half_away(5, 10), 1);
        assert_eq!(div_round_half_away(-5, 10), -1);
        assert_eq!(div_round_half_away(15, 10), 2);
        assert_eq!(div_round_half_away(-15, 10), -2);
        assert_eq!(div_round_half_away(25, 10), 3);
        assert_eq!(div_round_half_away(-25, 10), -3);
    }

    #[test]
    fn below_half_rounds_toward_zero() {
        assert_eq!(div_round_half_away(4, 10), 0);
        assert_eq!(div_round_half_away(-4, 10), 0);
        assert_eq!(div_round_half_away(149, 100), 1);
        assert_eq!(div_round_half_away(-149, 100), -1);
    }

    #[test]
    fn exact_division_is_untouched() {
        assert_eq!(div_round_half_away(0, 7), 0);
        assert_eq!(div_round_half_away(21, 7), 3);
        assert_eq!(div_round_half_away(-21, 7), -3);
    }

    #[test]
    fn extreme_operands_do_not_overflow() {
        assert_eq!(div_round_half_away(i128::MAX, 1), i128::MAX);
        assert_eq!(div_round_half_away(i128::MIN, 1), i128::MIN);
        assert_eq!(div_round_half_away(i128::MAX, i128::MAX), 1);
        assert_eq!(div_round_half_away(i128::MAX / 2, i128::MAX), 0);
        assert_eq!(div_round_half_away(i128::MAX / 2 + 1, i128::MAX), 1);
        assert_eq!(div_round_half_away(i128::MIN, i128::MAX), -1);
    }

    proptest! {
        #[test]
        fn matches_reference(n in -(1i128 << 100)..(1i128 << 100), d in 1i128..(1i128 << 100)) {
            prop_assert_eq!(div_round_half_away(n, d), reference(n, d));
        }

        #[test]
        fn is_odd_symmetric(n in -(1i128 << 100)..(1i128 << 100), d in 1i128..1_000_000) {
            prop_assert_eq!(div_round_half_away(-n, d), -div_round_half_away(n, d));
        }
    }
}
