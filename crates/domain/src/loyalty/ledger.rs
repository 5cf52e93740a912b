//! The bonus ledger model: every change of a client's bonus is an entry, and a client's
//! balance and held amount are exactly the sums of their entries' effects.
//!
//! Two running sums per client: `balance` (bonus owned) and `held` (reserved by payByBonus and
//! not yet captured or released). Spendable = balance − held − accruals not yet active.

use kassa_money::Money;
use serde::Serialize;

/// Why an entry was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Bonus earned by a confirmed sale (possibly active only later).
    Accrual,
    /// payByBonus reserved bonus (LOY-83).
    Hold,
    /// A reservation was cancelled, not reflected in the confirm, or expired (LOY-82–84).
    Release,
    /// A confirm captured a reservation: the bonus is spent.
    Capture,
    /// A confirm listed bonus without a reservation: debited directly (LOY-83, flagged).
    Debit,
    /// A refund took back the accrual of the refunded part (LOY-73).
    AccrualReversal,
    /// A refund gave back the bonus spent on the refunded part (LOY-73).
    BonusReturn,
    /// A manual correction through the admin API (signed).
    Adjustment,
}

impl EntryKind {
    pub const ALL: [EntryKind; 8] = [
        Self::Accrual,
        Self::Hold,
        Self::Release,
        Self::Capture,
        Self::Debit,
        Self::AccrualReversal,
        Self::BonusReturn,
        Self::Adjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accrual => "accrual",
            Self::Hold => "hold",
            Self::Release => "release",
            Self::Capture => "capture",
            Self::Debit => "debit",
            Self::AccrualReversal => "accrual_reversal",
            Self::BonusReturn => "bonus_return",
            Self::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The entry's effect on (balance, held) for an amount: positive for every kind but
    /// `Adjustment`, which is signed.
    pub fn effect(self, amount: Money) -> (Money, Money) {
        let z = Money::ZERO;
        match self {
            Self::Accrual | Self::BonusReturn | Self::Adjustment => (amount, z),
            Self::Hold => (z, amount),
            Self::Release => (z, -amount),
            Self::Capture => (-amount, -amount),
            Self::Debit | Self::AccrualReversal => (-amount, z),
        }
    }
}

/// One ledger entry to write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub client_id: String,
    pub kind: EntryKind,
    pub amount: Money,
    /// When the entry counts as spendable (accruals under an activation delay); else its time.
    pub available_at_ms: i64,
    /// The document (`uid`) it belongs to, if any.
    pub doc_uid: Option<String>,
    pub note: String,
}

impl Entry {
    pub fn effect(&self) -> (Money, Money) {
        self.kind.effect(self.amount)
    }
}

/// A client's running sums.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub balance: Money,
    pub held: Money,
    /// Accruals whose activation time has not come yet.
    pub pending: Money,
}

impl Account {
    /// What may be spent now (may be negative after a flagged late debit).
    pub fn spendable(&self) -> Money {
        self.balance - self.held - self.pending
    }

    /// The account after `entries` (all of this client).
    pub fn apply(mut self, entries: &[Entry]) -> Self {
        for e in entries {
            let (b, h) = e.effect();
            self.balance += b;
            self.held += h;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(kind: EntryKind, minor: i64) -> Entry {
        Entry { client_id: "c".into(), kind, amount: Money::from_minor(minor), available_at_ms: 0, doc_uid: None, note: String::new() }
    }

    proptest! {
        /// Random hold / release / capture sequences: the running sums always equal the sums
        /// of the entries' effects, and held equals the open reservations.
        #[test]
        fn running_sums_equal_entry_sums(ops in proptest::collection::vec((0u8..6, 1i64..100_000), 0..60)) {
            let mut acc = Account::default();
            let mut entries = Vec::new();
            let mut open: Vec<i64> = Vec::new();
            for (op, amount) in ops {
                let e = match op {
                    0 => entry(EntryKind::Accrual, amount),
                    1 => { open.push(amount); entry(EntryKind::Hold, amount) }
                    2 => match open.pop() { Some(a) => entry(EntryKind::Release, a), None => continue },
                    3 => match open.pop() { Some(a) => entry(EntryKind::Capture, a), None => continue },
                    4 => entry(EntryKind::Debit, amount),
                    _ => entry(EntryKind::Adjustment, amount - 50_000),
                };
                acc = acc.apply(std::slice::from_ref(&e));
                entries.push(e);
            }
            let sum = Account::default().apply(&entries);
            prop_assert_eq!(acc, sum);
            prop_assert_eq!(acc.held.minor(), open.iter().sum::<i64>());
        }
    }
}
