//! Exact proportional splits: spreading a receipt-level amount (a discount, a
//! rounding correction, a payment) over positions so that the parts add up to
//! the total to the kopeck.
//!
//! Rounding each share on its own would make the parts sum to a few kopecks
//! more or less than the total; the largest-remainder method instead floors
//! every share and hands the missing minor units, one each, to the positions
//! whose shares lost the most in flooring. All arithmetic is exact in i128.

use crate::error::SplitError;
use crate::money::Money;

/// Splits `total` over positions in proportion to `weights` (usually the
/// positions' amounts), so that the parts sum exactly to `total`.
///
/// Each part is its exact proportional share rounded down or up, so it is
/// less than one kopeck away from that share. Leftover kopecks go to the
/// largest remainders, ties to the earlier position; zero-weight positions
/// get zero. A negative `total` is split as its magnitude and then negated,
/// so the split is symmetric.
///
/// # Errors
/// [`SplitError::Empty`] for no weights, [`SplitError::NegativeWeight`] for a
/// weight below zero, [`SplitError::ZeroWeights`] if every weight is zero.
pub fn split_proportional(total: Money, weights: &[Money]) -> Result<Vec<Money>, SplitError> {
    let weights = validate_weights(weights)?;
    let parts = largest_remainder(magnitude(total), &weights);
    Ok(with_sign_of(total, parts))
}

/// Like [`split_proportional`], but no part may exceed its cap in magnitude,
/// e.g. so that a discount never takes a position below its minimum price.
///
/// Positions whose proportional share would reach their cap get exactly the
/// cap; what they cannot take is spread over the remaining positions, again
/// in proportion to their weights (the "water-filling" allocation). The final
/// spread uses the largest-remainder method, so parts still sum exactly to
/// `total`. Zero-weight positions get zero, so their caps add no capacity.
///
/// # Errors
/// Those of [`split_proportional`], plus [`SplitError::LengthMismatch`] when
/// `caps` and `weights` differ in length, [`SplitError::NegativeCap`], and
/// [`SplitError::ExceedsCaps`] when `|total|` is more than the caps of the
/// positive-weight positions add up to.
pub fn split_proportional_capped(
    total: Money,
    weights: &[Money],
    caps: &[Money],
) -> Result<Vec<Money>, SplitError> {
    let weights = validate_weights(weights)?;
    let caps = validate_caps(caps, weights.len())?;
    let amount = magnitude(total);
    let capacity: i128 = weights
        .iter()
        .zip(&caps)
        .filter(|&(&weight, _)| weight > 0)
        .map(|(_, &cap)| cap)
        .sum();
    if amount > capacity {
        return Err(SplitError::ExceedsCaps {
            total,
            // capacity < |total| <= 2^63, so it fits in i64 (at most i64::MAX).
            capacity: Money::from_minor(
                i64::try_from(capacity).expect("capacity is below |total|, so it fits in i64"),
            ),
        });
    }
    let parts = capped_largest_remainder(amount, &weights, &caps);
    Ok(with_sign_of(total, parts))
}

/// Checks the weights and widens them to i128.
fn validate_weights(weights: &[Money]) -> Result<Vec<i128>, SplitError> {
    if weights.is_empty() {
        return Err(SplitError::Empty);
    }
    if let Some(index) = weights.iter().position(|weight| weight.is_negative()) {
        return Err(SplitError::NegativeWeight { index });
    }
    if weights.iter().all(|weight| weight.is_zero()) {
        return Err(SplitError::ZeroWeights);
    }
    Ok(weights
        .iter()
        .map(|weight| i128::from(weight.minor()))
        .collect())
}

/// Checks the caps against `positions` and widens them to i128.
fn validate_caps(caps: &[Money], positions: usize) -> Result<Vec<i128>, SplitError> {
    if caps.len() != positions {
        return Err(SplitError::LengthMismatch {
            weights: positions,
            caps: caps.len(),
        });
    }
    if let Some(index) = caps.iter().position(|cap| cap.is_negative()) {
        return Err(SplitError::NegativeCap { index });
    }
    Ok(caps.iter().map(|cap| i128::from(cap.minor())).collect())
}

/// |total| in i128, where even i64::MIN has a magnitude.
fn magnitude(total: Money) -> i128 {
    i128::from(total.minor()).abs()
}

/// Turns non-negative parts of |total| into signed parts of `total`.
fn with_sign_of(total: Money, parts: Vec<i128>) -> Vec<Money> {
    parts
        .into_iter()
        .map(|part| {
            let signed = if total.is_negative() { -part } else { part };
            // Every part lies in 0..=|total| and takes the sign of `total`, so
            // it lies between 0 and `total`, which is an i64.
            Money::from_minor(i64::try_from(signed).expect("a part never exceeds |total|"))
        })
        .collect()
}

/// Splits the non-negative `amount` over non-negative `weights` (at least one
/// positive) by the largest-remainder method.
///
/// Overflow: amount <= 2^63 and each weight < 2^63, so `amount * weight` <
/// 2^126; the weight sum of fewer than 2^64 positions is below 2^127.
fn largest_remainder(amount: i128, weights: &[i128]) -> Vec<i128> {
    let weight_sum: i128 = weights.iter().sum();
    debug_assert!(weight_sum > 0, "callers guarantee a positive weight");
    let (mut parts, remainders): (Vec<i128>, Vec<i128>) = weights
        .iter()
        .map(|&weight| {
            let scaled = amount * weight;
            (scaled / weight_sum, scaled % weight_sum)
        })
        .unzip();
    // Sum of the floors is at most `amount`, and the shortfall is below the
    // number of positions with a non-zero remainder, so zero-weight positions
    // (remainder 0) never receive a leftover unit.
    let mut leftover = amount - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Stable sort: equal remainders keep index order, so ties go to the earlier position.
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
    for index in order {
        if leftover == 0 {
            break;
        }
        parts[index] += 1;
        leftover -= 1;
    }
    parts
}

/// Water-filling split of the non-negative `amount`, at most `caps[i]` per position.
///
/// Repeatedly gives the cap to every active position whose exact share of
/// what is left reaches its cap, then splits the rest among the others. Giving
/// a position exactly its cap when its share is at least the cap can only
/// raise everyone else's share, so positions saturated once stay saturated and
/// each round removes at least one position: at most n rounds. The caller has
/// checked that `amount` fits within the caps of the positive-weight positions.
fn capped_largest_remainder(amount: i128, weights: &[i128], caps: &[i128]) -> Vec<i128> {
    let mut parts = vec![0i128; weights.len()];
    let mut active: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0).collect();
    let mut remaining = amount;
    while !active.is_empty() {
        let weight_sum: i128 = active.iter().map(|&i| weights[i]).sum();
        // share >= cap  ⇔  floor(share) >= cap, since the cap is an integer;
        // flooring avoids the cap × weight_sum product, which could overflow.
        let (saturated, unsaturated): (Vec<usize>, Vec<usize>) = active
            .iter()
            .partition(|&&i| remaining * weights[i] / weight_sum >= caps[i]);
        if saturated.is_empty() {
            break;
        }
        for i in saturated {
            parts[i] = caps[i];
            remaining -= caps[i];
        }
        active = unsaturated;
    }
    if active.is_empty() {
        debug_assert_eq!(
            remaining, 0,
            "capacity check guarantees everything was placed"
        );
        return parts;
    }
    // Every active share is now strictly below its cap, so rounding it up
    // by one kopeck at most reaches the cap.
    let active_weights: Vec<i128> = active.iter().map(|&i| weights[i]).collect();
    for (i, share) in active
        .iter()
        .zip(largest_remainder(remaining, &active_weights))
    {
        parts[*i] = share;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(minors: &[i64]) -> Vec<Money> {
        minors.iter().copied().map(Money::from_minor).collect()
    }

    fn minors(parts: &[Money]) -> Vec<i64> {
        parts.iter().map(|part| part.minor()).collect()
    }

    fn split(total: i64, weights: &[i64]) -> Result<Vec<i64>, SplitError> {
        split_proportional(Money::from_minor(total), &money(weights)).map(|parts| minors(&parts))
    }

    fn capped(total: i64, weights: &[i64], caps: &[i64]) -> Result<Vec<i64>, SplitError> {
        split_proportional_capped(Money::from_minor(total), &money(weights), &money(caps))
            .map(|parts| minors(&parts))
    }

    #[test]
    fn examples() {
        assert_eq!(split(100, &[1, 1, 1]), Ok(vec![34, 33, 33]));
        assert_eq!(split(-100, &[1, 1, 1]), Ok(vec![-34, -33, -33]));
        assert_eq!(split(200, &[1, 1, 1]), Ok(vec![67, 67, 66]));
        assert_eq!(split(1000, &[5000, 3000, 2000]), Ok(vec![500, 300, 200]));
        assert_eq!(split(10, &[3, 0, 7]), Ok(vec![3, 0, 7]));
        assert_eq!(split(1, &[0, 5, 5]), Ok(vec![0, 1, 0]));
        assert_eq!(split(0, &[1, 2]), Ok(vec![0, 0]));
        // 1 kopeck over shares 0.3/0.3/0.4: the largest remainder wins.
        assert_eq!(split(1, &[3, 3, 4]), Ok(vec![0, 0, 1]));
        assert_eq!(split(i64::MIN, &[1]), Ok(vec![i64::MIN]));
        assert_eq!(
            split(i64::MAX, &[i64::MAX, i64::MAX]),
            Ok(vec![i64::MAX / 2 + 1, i64::MAX / 2])
        );
    }

    #[test]
    fn errors() {
        assert_eq!(split(100, &[]), Err(SplitError::Empty));
        assert_eq!(split(100, &[0, 0]), Err(SplitError::ZeroWeights));
        assert_eq!(split(0, &[0]), Err(SplitError::ZeroWeights));
        assert_eq!(
            split(100, &[1, -1, -2]),
            Err(SplitError::NegativeWeight { index: 1 })
        );
        assert_eq!(
            capped(100, &[1, 1], &[100]),
            Err(SplitError::LengthMismatch {
                weights: 2,
                caps: 1
            })
        );
        assert_eq!(
            capped(100, &[1, 1], &[100, -1]),
            Err(SplitError::NegativeCap { index: 1 })
        );
        assert_eq!(
            capped(-100, &[1, 1, 0], &[40, 50, 1000]),
            Err(SplitError::ExceedsCaps {
                total: Money::from_minor(-100),
                capacity: Money::from_minor(90)
            })
        );
    }

    #[test]
    fn error_messages_are_actionable() {
        assert_eq!(
            SplitError::NegativeWeight { index: 2 }.to_string(),
            "weight at position 2 is negative; weights must be zero or positive"
        );
        let exceeds = SplitError::ExceedsCaps {
            total: Money::from_minor(10_000),
            capacity: Money::from_minor(9_050),
        };
        assert!(exceeds.to_string().contains("100.00"), "{exceeds}");
        assert!(exceeds.to_string().contains("90.50"), "{exceeds}");
    }

    #[test]
    fn capped_examples() {
        // Uncapped shares 50/30/20; the first may take only 40, its extra 10
        // goes 3:2 to the others.
        assert_eq!(
            capped(100, &[50, 30, 20], &[40, 100, 100]),
            Ok(vec![40, 36, 24])
        );
        assert_eq!(
            capped(-100, &[50, 30, 20], &[40, 100, 100]),
            Ok(vec![-40, -36, -24])
        );
        // Cascading saturation.
        assert_eq!(
            capped(100, &[50, 30, 20], &[40, 35, 100]),
            Ok(vec![40, 35, 25])
        );
        // Exactly at capacity.
        assert_eq!(capped(90, &[1, 1, 0], &[40, 50, 1000]), Ok(vec![40, 50, 0]));
        // Non-binding caps give the plain split.
        assert_eq!(
            capped(100, &[1, 1, 1], &[100, 100, 100]),
            Ok(vec![34, 33, 33])
        );
        // Rounding never pushes a part over its cap.
        assert_eq!(
            capped(100, &[1, 1, 1], &[33, 34, 100]),
            Ok(vec![33, 34, 33])
        );
        assert_eq!(capped(0, &[1, 2], &[0, 0]), Ok(vec![0, 0]));
        assert_eq!(
            capped(i64::MAX, &[i64::MAX, i64::MAX, 1], &[i64::MAX, 1, i64::MAX]),
            Ok(vec![i64::MAX - 2, 1, 1])
        );
    }

    /// Non-negative weights with at least one positive, moderate size so that
    /// exactness checks can multiply in i128 without overflow.
    fn weights_strategy() -> impl Strategy<Value = Vec<i64>> {
        prop::collection::vec(prop_oneof![Just(0i64), 0i64..1_000_000_000_000], 1..20)
            .prop_filter("at least one positive weight", |w| w.iter().any(|&x| x > 0))
    }

    proptest! {
        #[test]
        fn parts_sum_to_total_and_are_within_one_unit(total in any::<i64>(), weights in weights_strategy()) {
            let parts = split(total, &weights).expect("valid input");
            prop_assert_eq!(parts.iter().map(|&p| i128::from(p)).sum::<i128>(), i128::from(total));
            let weight_sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
            for (&part, &weight) in parts.iter().zip(&weights) {
                // |part - total·w/W| < 1  ⇔  |part·W - total·w| < W
                let error = (i128::from(part) * weight_sum - i128::from(total) * i128::from(weight)).abs();
                prop_assert!(error < weight_sum, "part {} weight {}", part, weight);
                if weight == 0 {
                    prop_assert_eq!(part, 0);
                }
            }
        }

        #[test]
        fn split_is_sign_symmetric(total in (i64::MIN + 1)..=i64::MAX, weights in weights_strategy()) {
            let positive = split(total, &weights).expect("valid input");
            let negative = split(-total, &weights).expect("valid input");
            prop_assert_eq!(negative, positive.iter().map(|&p| -p).collect::<Vec<_>>());
        }

        #[test]
        fn full_range_weights_still_sum_exactly(
            total in any::<i64>(),
            weights in prop::collection::vec(0i64..=i64::MAX, 1..10),
        ) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = split(total, &weights).expect("valid input");
            prop_assert_eq!(parts.iter().map(|&p| i128::from(p)).sum::<i128>(), i128::from(total));
        }

        #[test]
        fn capped_split_respects_caps_and_sums_exactly(
            negative in any::<bool>(),
            fill in 0u32..=100,
            positions in prop::collection::vec((prop_oneof![Just(0i64), 1i64..10_000], 0i64..100_000), 1..20),
        ) {
            let (weights, caps): (Vec<i64>, Vec<i64>) = positions.into_iter().unzip();
            prop_assume!(weights.iter().any(|&w| w > 0));
            let capacity: i64 = weights.iter().zip(&caps).filter(|(w, _)| **w > 0).map(|(_, c)| *c).sum();
            let magnitude = capacity * i64::from(fill) / 100;
            let total = if negative { -magnitude } else { magnitude };
            let parts = capped(total, &weights, &caps).expect("total within capacity");

            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            for ((&part, &weight), &cap) in parts.iter().zip(&weights).zip(&caps) {
                prop_assert!(part.abs() <= cap);
                prop_assert!(part == 0 || (part < 0) == negative);
                if weight == 0 {
                    prop_assert_eq!(part, 0);
                }
            }
            // Water-filling fairness: nobody gets more per unit of weight than
            // a position that is still below its cap, up to one kopeck each:
            // (part_j - 1) / w_j < (part_i + 1) / w_i.
            for (i, (&part_i, &w_i)) in parts.iter().zip(&weights).enumerate() {
                if w_i == 0 || part_i.abs() >= caps[i] {
                    continue;
                }
                for (&part_j, &w_j) in parts.iter().zip(&weights) {
                    if w_j > 0 {
                        let lhs = i128::from(part_j.abs() - 1) * i128::from(w_i);
                        let rhs = i128::from(part_i.abs() + 1) * i128::from(w_j);
                        prop_assert!(lhs < rhs);
                    }
                }
            }
        }

        #[test]
        fn non_binding_caps_equal_plain_split(total in any::<i64>(), weights in weights_strategy()) {
            let caps = vec![i64::MAX; weights.len()];
            let magnitude = total.checked_abs().unwrap_or(i64::MAX);
            let total = if total < 0 { -magnitude } else { magnitude };
            prop_assert_eq!(capped(total, &weights, &caps), split(total, &weights));
        }

        #[test]
        fn capped_rejects_totals_beyond_capacity(
            extra in 1i64..1_000,
            positions in prop::collection::vec((1i64..10_000, 0i64..100_000), 1..20),
        ) {
            let (weights, caps): (Vec<i64>, Vec<i64>) = positions.into_iter().unzip();
            let capacity: i64 = caps.iter().sum();
            let result = capped(capacity + extra, &weights, &caps);
            let is_exceeds = matches!(result, Err(SplitError::ExceedsCaps { .. }));
            prop_assert!(is_exceeds);
        }
    }
}
