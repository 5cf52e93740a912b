//! The loyalty rules applied to a document: item discounts, the bonus-payment limit and its
//! exact distribution, accrual, what a confirm captures, and how a refund reverses a sale.
//!
//! Pure arithmetic on exact money (`kassa-money`); every split sums exactly to its total.

use super::wire::{DocPayment, PaymentMode, PaymentType, Position};
use crate::provisioning::{LoyaltyRule, RuleTarget};
use kassa_money::{Money, Percent, Quantity, split_proportional, split_proportional_capped};
use serde::{Deserialize, Serialize};

/// The active rules of one tenant, in the form the engine uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSet {
    pub discounts: Vec<(RuleTarget, Percent)>,
    pub accrual: Option<Percent>,
    pub max_share: Option<Percent>,
    pub min_prices: Vec<(RuleTarget, Money)>,
    pub activation_delay_hours: u32,
}

impl RuleSet {
    pub fn new(rules: &[LoyaltyRule]) -> Self {
        let mut s = Self::default();
        for r in rules {
            match r {
                LoyaltyRule::ItemDiscount { target, percent, .. } => s.discounts.push((target.clone(), *percent)),
                LoyaltyRule::Accrual { percent, .. } => s.accrual = Some(s.accrual.map_or(*percent, |a| a.max(*percent))),
                LoyaltyRule::MaxBonusShare { percent, .. } => {
                    s.max_share = Some(s.max_share.map_or(*percent, |a| a.min(*percent)))
                }
                LoyaltyRule::MinPrice { target, price, .. } => s.min_prices.push((target.clone(), *price)),
                LoyaltyRule::ActivationDelay { hours, .. } => s.activation_delay_hours = s.activation_delay_hours.max(*hours),
            }
        }
        s
    }

    pub fn activation_delay_ms(&self) -> i64 {
        i64::from(self.activation_delay_hours) * 3_600_000
    }

    /// The floor of a position (LOY-44): `minimumPrice × quantity` rounded up to 0.01, raised to
    /// the tenant's own minimum price rules.
    pub fn floor(&self, p: &Position) -> Money {
        let rule_price = self
            .min_prices
            .iter()
            .filter(|(t, _)| matches(t, &p.id))
            .map(|(_, price)| *price)
            .max()
            .unwrap_or(Money::ZERO);
        let unit = p.minimum_price.max(rule_price);
        ceil_mul(unit, p.quantity)
    }

    /// What discounts and bonus may take off a position: max(0, totalAmount − floor).
    pub fn room(&self, p: &Position) -> Money {
        (p.total_amount - self.floor(p)).max(Money::ZERO)
    }

    /// The largest item discount percentage matching the position.
    fn discount_percent(&self, p: &Position) -> Option<Percent> {
        self.discounts.iter().filter(|(t, _)| matches(t, &p.id)).map(|(_, pct)| *pct).max()
    }

    /// LOY-26, LOY-47, LOY-48: the complete discounts of a precheck and the amount available
    /// for bonus payment after them.
    pub fn calculate(&self, positions: &[Position], spendable: Money) -> Calculation {
        let mut discounts = Vec::new();
        let mut room_after = Money::ZERO;
        let mut base_after = Money::ZERO;
        for p in positions {
            let room = self.room(p);
            let d = self.discount_percent(p).map_or(Money::ZERO, |pct| pct.of(p.total_amount).clamp(Money::ZERO, room));
            if d > Money::ZERO {
                discounts.push((p.index, d));
            }
            room_after += room - d;
            base_after += p.total_amount - d;
        }
        let mut available = spendable.max(Money::ZERO).min(room_after);
        if let Some(share) = self.max_share {
            available = available.min(share.of(base_after));
        }
        Calculation { discounts, available }
    }

    /// LOY-50: the most a payByBonus may take from these positions by the rules (before the
    /// client's balance): the room above the floors, and the maximum bonus share.
    pub fn bonus_limit(&self, positions: &[Position]) -> Money {
        let room: Money = positions.iter().map(|p| self.room(p)).fold(Money::ZERO, |a, b| a + b);
        let base: Money = positions.iter().map(|p| p.total_amount).fold(Money::ZERO, |a, b| a + b);
        match self.max_share {
            Some(share) => room.min(share.of(base)),
            None => room,
        }
    }

    /// LOY-49: spreads a bonus payment over the positions in proportion to their room above
    /// the floor, never beyond it; the parts sum exactly to `amount`. `None` when the room is
    /// too small.
    pub fn distribute(&self, positions: &[Position], amount: Money) -> Option<Vec<(i64, Money)>> {
        let rooms: Vec<Money> = positions.iter().map(|p| self.room(p)).collect();
        let parts = split_proportional_capped(amount, &rooms, &rooms).ok()?;
        Some(positions.iter().zip(parts).filter(|(_, m)| *m > Money::ZERO).map(|(p, m)| (p.index, m)).collect())
    }

    /// Bonus accrued for a sale: the accrual percentage of its fiscal payments (bonus and
    /// non-fiscal payments earn nothing; `discardedAmount` is not a discount, LOY-52).
    pub fn accrual(&self, payments: &[DocPayment]) -> Money {
        let Some(pct) = self.accrual else { return Money::ZERO };
        let base = payments
            .iter()
            .filter(|p| p.mode == PaymentMode::Fiscal && p.kind != PaymentType::Bonus)
            .fold(Money::ZERO, |a, p| a + p.amount);
        pct.of(base).max(Money::ZERO)
    }
}

/// Rule targets: a product id exactly; a product group as a prefix of the product id (Frontol
/// sends article codes, and groups are code ranges — docs/architecture.md); or everything.
pub fn matches(target: &RuleTarget, product_id: &str) -> bool {
    match target {
        RuleTarget::Product(id) => id == product_id,
        RuleTarget::ProductGroup(prefix) => product_id.starts_with(prefix.as_str()),
        RuleTarget::All => true,
    }
}

/// `unit × quantity` rounded up to whole kopecks (LOY-44's decision for the floor).
pub fn ceil_mul(unit: Money, q: Quantity) -> Money {
    let exact = i128::from(unit.minor()) * i128::from(q.thousandths());
    let minor = exact.div_euclid(1000) + i128::from(exact.rem_euclid(1000) != 0);
    Money::from_minor(i64::try_from(minor).unwrap_or(i64::MAX))
}

/// The answer of a precheck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calculation {
    /// (`index`, `discountAmount`) for positions with a discount.
    pub discounts: Vec<(i64, Money)>,
    pub available: Money,
}

/// LOY-48: a `calculate` answer the POS can apply: each index once, present in the request,
/// 0 ≤ discount ≤ max(0, totalAmount − floor).
pub fn check_discounts(positions: &[Position], discounts: &[(i64, Money)]) -> Result<(), String> {
    let plain = RuleSet::default();
    let mut seen = std::collections::HashSet::new();
    for (index, d) in discounts {
        let p = positions.iter().find(|p| p.index == *index).ok_or(format!("index {index} is not in the request"))?;
        if !seen.insert(index) {
            return Err(format!("index {index} occurs twice"));
        }
        if *d < Money::ZERO || *d > plain.room(p) {
            return Err(format!("discount {d} of index {index} is outside 0..={}", plain.room(p)));
        }
    }
    Ok(())
}

/// LOY-49: a distribution the POS can apply: indices once and known, each part within the
/// room above the floor, parts summing exactly to the payment.
pub fn check_distribution(positions: &[Position], amount: Money, paid: &[(i64, Money)]) -> Result<(), String> {
    check_discounts(positions, paid)?;
    let sum = paid.iter().fold(Money::ZERO, |a, (_, m)| a + *m);
    if sum != amount {
        return Err(format!("the distribution sums to {sum}, not {amount}"));
    }
    Ok(())
}

/// An active reservation as the confirm sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveHold {
    pub id: i64,
    pub amount: Money,
}

/// What a confirm does with the reservations of its document (LOY-83).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HoldSettlement {
    pub capture: Vec<ActiveHold>,
    pub release: Vec<ActiveHold>,
    /// Bonus listed in the confirm without a reservation: debited directly, flagged.
    pub direct_debit: Money,
}

impl HoldSettlement {
    pub fn flagged(&self) -> bool {
        !self.release.is_empty() || self.direct_debit > Money::ZERO
    }
}

/// LOY-83: the bonus payments of the confirm are authoritative. All reservations are captured
/// when they add up to it; otherwise the most recent ones that fit are captured, the rest
/// released, and what remains is debited directly. `holds` are oldest first.
pub fn settle_holds(holds: &[ActiveHold], bonus: Money) -> HoldSettlement {
    let total = holds.iter().fold(Money::ZERO, |a, h| a + h.amount);
    if total == bonus {
        return HoldSettlement { capture: holds.to_vec(), release: vec![], direct_debit: Money::ZERO };
    }
    let mut s = HoldSettlement::default();
    let mut left = bonus;
    for h in holds.iter().rev() {
        if h.amount <= left {
            left -= h.amount;
            s.capture.push(*h);
        } else {
            s.release.push(*h);
        }
    }
    s.direct_debit = left;
    s
}

/// One line of a confirmed sale, as kept for refunds (LOY-73).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    pub index: i64,
    pub id: String,
    pub price: Money,
    pub quantity: Quantity,
    pub total: Money,
    /// This line's share of the sale's accrual and bonus payment.
    pub accrued: Money,
    pub bonus: Money,
    pub refunded: Quantity,
    pub reversed_accrual: Money,
    pub returned_bonus: Money,
}

/// A confirmed sale: its lines with their shares of the accrual and the bonus debit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRecord {
    pub lines: Vec<SaleLine>,
}

impl SaleRecord {
    /// Spreads the accrual and the bonus debit over the lines in proportion to their final
    /// amounts (equally when all are zero); the shares sum exactly to the totals.
    pub fn new(positions: &[Position], accrued: Money, bonus: Money) -> Self {
        let mut weights: Vec<Money> = positions.iter().map(|p| p.total_amount).collect();
        if weights.iter().all(|w| w.is_zero()) {
            weights.iter_mut().for_each(|w| *w = Money::from_minor(1));
        }
        let split = |total: Money| {
            if weights.is_empty() { Vec::new() } else { split_proportional(total, &weights).unwrap_or_default() }
        };
        let (acc, bon) = (split(accrued), split(bonus));
        let lines = positions
            .iter()
            .enumerate()
            .map(|(i, p)| SaleLine {
                index: p.index,
                id: p.id.clone(),
                price: p.price,
                quantity: p.quantity,
                total: p.total_amount,
                accrued: acc.get(i).copied().unwrap_or(Money::ZERO),
                bonus: bon.get(i).copied().unwrap_or(Money::ZERO),
                refunded: Quantity::from_thousandths(0),
                reversed_accrual: Money::ZERO,
                returned_bonus: Money::ZERO,
            })
            .collect();
        Self { lines }
    }
}

/// What a refund takes back (LOY-73's business policy, decided in docs/conformance.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundEffect {
    /// Accrued bonus taken back from the client.
    pub accrual_reversal: Money,
    /// Spent bonus given back to the client.
    pub bonus_return: Money,
    /// Refunded quantity beyond the sale's, or positions not found in the sale (flagged).
    pub unmatched: bool,
}

/// LOY-73: refund positions are matched to sale lines by `id` (then `price`); each line gives
/// back its accrual and bonus shares in proportion to the refunded quantity, computed on the
/// cumulative quantity so that refunding everything in parts reverses exactly the whole.
pub fn apply_refund(sale: &mut SaleRecord, refund: &[Position]) -> RefundEffect {
    let mut effect = RefundEffect::default();
    for r in refund {
        let mut left = r.quantity.thousandths();
        // Same id and price first, then same id.
        let mut order: Vec<usize> = (0..sale.lines.len()).filter(|&i| sale.lines[i].id == r.id).collect();
        order.sort_by_key(|&i| sale.lines[i].price != r.price);
        for i in order {
            if left <= 0 {
                break;
            }
            let line = &mut sale.lines[i];
            let remaining = line.quantity.thousandths() - line.refunded.thousandths();
            let take = left.min(remaining);
            if take <= 0 {
                continue;
            }
            left -= take;
            let new_refunded = line.refunded.thousandths() + take;
            let target = |x: Money| {
                if line.quantity.thousandths() == 0 {
                    x
                } else {
                    x.mul_ratio(new_refunded, line.quantity.thousandths()).unwrap_or(x)
                }
            };
            let acc = target(line.accrued) - line.reversed_accrual;
            let bon = target(line.bonus) - line.returned_bonus;
            line.reversed_accrual += acc;
            line.returned_bonus += bon;
            line.refunded = Quantity::from_thousandths(new_refunded);
            effect.accrual_reversal += acc;
            effect.bonus_return += bon;
        }
        if left > 0 {
            effect.unmatched = true;
        }
    }
    effect
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty::wire::{parse_document, parse_json};

    fn pos(index: i64, id: &str, min: &str, qty: &str, total: &str) -> Position {
        Position {
            index,
            id: id.into(),
            text: String::new(),
            price: Money::ZERO,
            minimum_price: min.parse().unwrap(),
            quantity: qty.parse().unwrap(),
            total_amount: total.parse().unwrap(),
        }
    }

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    /// The worked example of §8.2 (calculate stage).
    fn calc_positions() -> Vec<Position> {
        vec![pos(1, "120474", "1000.00", "2.000", "4000.00"), pos(2, "aa234", "0.00", "2.000", "100.00"), pos(3, "70259", "700.00", "0.732", "571.62")]
    }

    fn pay_positions() -> Vec<Position> {
        vec![pos(1, "120474", "1000.00", "2.000", "3500.00"), pos(2, "aa234", "0.00", "2.000", "0.00"), pos(3, "70259", "700.00", "0.732", "521.62")]
    }

    #[test]
    fn floor_is_rounded_up_loy_44() {
        let r = RuleSet::default();
        assert_eq!(r.floor(&calc_positions()[2]), m("512.40"));
        assert_eq!(ceil_mul(m("0.05"), "0.333".parse().unwrap()), m("0.02"));
        assert_eq!(ceil_mul(m("1.00"), "0.001".parse().unwrap()), m("0.01"));
    }

    #[test]
    fn source_calculate_response_passes_and_60_on_index_3_fails_loy_48_tv_l7() {
        let ps = calc_positions();
        check_discounts(&ps, &[(1, m("500.00")), (2, m("100.00")), (3, m("50.00"))]).unwrap();
        assert!(check_discounts(&ps, &[(3, m("60.00"))]).is_err());
        assert!(check_discounts(&ps, &[(4, m("1.00"))]).is_err());
        assert!(check_discounts(&ps, &[(1, m("1.00")), (1, m("1.00"))]).is_err());
    }

    #[test]
    fn source_distribution_of_600_10_is_rejected_loy_49_tv_l10() {
        let ps = pay_positions();
        assert!(check_distribution(&ps, m("600.00"), &[(1, m("590.88")), (3, m("9.22"))]).is_err());
        check_distribution(&ps, m("600.00"), &[(1, m("590.78")), (3, m("9.22"))]).unwrap();
    }

    #[test]
    fn distribution_is_exact_and_within_caps_loy_49() {
        let r = RuleSet::default();
        let ps = pay_positions();
        let d = r.distribute(&ps, m("600.00")).unwrap();
        check_distribution(&ps, m("600.00"), &d).unwrap();
        assert!(r.distribute(&ps, m("1509.23")).is_none());
        let all = r.distribute(&ps, m("1509.22")).unwrap();
        assert_eq!(all, vec![(1, m("1500.00")), (3, m("9.22"))]);
    }

    #[test]
    fn demo_rules_give_capped_discounts_and_available_amount_loy_47() {
        let rules = crate::provisioning::LoyaltyRule::ItemDiscount {
            id: "d".into(),
            target: RuleTarget::Product("70259".into()),
            percent: Percent::from_basis_points(1_500),
        };
        let r = RuleSet::new(&[rules]);
        let c = r.calculate(&calc_positions(), m("1000000.00"));
        // 15 % of 571.62 is 85.74, capped at the room 59.22.
        assert_eq!(c.discounts, vec![(3, m("59.22"))]);
        check_discounts(&calc_positions(), &c.discounts).unwrap();
        assert_eq!(c.available, m("2100.00"));
        assert_eq!(r.calculate(&calc_positions(), m("10.00")).available, m("10.00"));
        assert_eq!(r.calculate(&calc_positions(), m("-5.00")).available, Money::ZERO);
    }

    #[test]
    fn holds_follow_the_confirm_loy_83() {
        let h = |id, a: &str| ActiveHold { id, amount: m(a) };
        let s = settle_holds(&[h(1, "600.00")], m("600.00"));
        assert_eq!((s.capture.len(), s.flagged()), (1, false));
        let s = settle_holds(&[h(1, "600.00")], Money::ZERO);
        assert_eq!((s.release.len(), s.flagged()), (1, true));
        let s = settle_holds(&[], m("600.00"));
        assert_eq!(s.direct_debit, m("600.00"));
        let s = settle_holds(&[h(1, "100.00"), h(2, "50.00")], m("120.00"));
        assert_eq!((s.capture, s.release, s.direct_debit), (vec![h(2, "50.00")], vec![h(1, "100.00")], m("70.00")));
    }

    #[test]
    fn partial_refunds_reverse_exactly_the_whole_loy_73() {
        let ps = vec![pos(1, "a", "0", "3.000", "100.00"), pos(2, "b", "0", "1.000", "50.00")];
        let mut sale = SaleRecord::new(&ps, m("7.51"), m("10.01"));
        let total_acc: Money = sale.lines.iter().fold(Money::ZERO, |a, l| a + l.accrued);
        assert_eq!(total_acc, m("7.51"));
        let mut acc = Money::ZERO;
        let mut bon = Money::ZERO;
        for _ in 0..3 {
            let e = apply_refund(&mut sale, &[pos(1, "a", "0", "1.000", "33.33")]);
            acc += e.accrual_reversal;
            bon += e.bonus_return;
            assert!(!e.unmatched);
        }
        let e = apply_refund(&mut sale, &[pos(7, "b", "0", "1.000", "50.00")]);
        acc += e.accrual_reversal;
        bon += e.bonus_return;
        assert_eq!((acc, bon), (m("7.51"), m("10.01")));
        assert!(apply_refund(&mut sale, &[pos(1, "a", "0", "1.000", "1.00")]).unmatched);
    }

    #[test]
    fn accrual_counts_fiscal_payments_only() {
        let v = parse_json(
            br#"{"action":"confirm","type":"receipt","uid":"u","client":{"card":"1"},"positions":[],
            "payments":[{"type":"bonus","mode":"nonFiscal","amount":600},{"type":"cash","mode":"fiscal","amount":3000},{"type":"creditCard","mode":"fiscal","amount":421}]}"#,
        )
        .unwrap();
        let r = parse_document(&v).unwrap();
        let rules = RuleSet { accrual: Some(Percent::from_basis_points(500)), ..Default::default() };
        assert_eq!(rules.accrual(&r.payments), m("171.05"));
    }
}
