//! Loss-prevention signals over the event stream: patterns that users of POS-event systems
//! watch for on video overlays and in audits. Each rule looks at the events of one document
//! (same envelope and `groupId`, EVT-14) in occurrence order and flags the event that completes
//! the pattern.
//!
//! Pure: the core gives the earlier events of the document and the new ones; which rules run is
//! a per-tenant setting.

/// One loss-prevention rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// A position is cancelled (storno) after payment began (`REG_PAYMENT_MODE` or a registered
    /// payment): the classic "sweethearting" pattern.
    PositionCancelAfterPayment,
    /// The cash drawer is opened by the cashier (`SYS_OPEN_MONEY_BOX`, `type` `manual`) outside
    /// any document: no `REG_DOCUMENT_OPEN` shares its `groupId`.
    MoneyBoxWithoutDocument,
    /// A document is cancelled after a client card or coupon was entered (bonus abuse).
    DocumentCancelAfterCard,
    /// A registered payment is deleted (`REG_PAYMENT_CANCEL`).
    PaymentCancelled,
}

impl Rule {
    pub const ALL: [Rule; 4] =
        [Rule::PositionCancelAfterPayment, Rule::MoneyBoxWithoutDocument, Rule::DocumentCancelAfterCard, Rule::PaymentCancelled];

    /// The rule's wire name (in flags and in the settings).
    pub fn id(self) -> &'static str {
        match self {
            Self::PositionCancelAfterPayment => "position_cancel_after_payment",
            Self::MoneyBoxWithoutDocument => "money_box_without_document",
            Self::DocumentCancelAfterCard => "document_cancel_after_card",
            Self::PaymentCancelled => "payment_cancelled",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::PositionCancelAfterPayment => "a position was cancelled after payment started",
            Self::MoneyBoxWithoutDocument => "the cash drawer was opened manually without a document",
            Self::DocumentCancelAfterCard => "the document was cancelled after a card or coupon was entered",
            Self::PaymentCancelled => "a registered payment was deleted",
        }
    }
}

/// What a rule needs to know of one event of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocEvent<'a> {
    pub name: &'a str,
    /// The normalised `type` field, or "".
    pub kind: &'a str,
    /// Occurrence instant (ms, UTC), or the arrival time when the event has no readable one.
    pub occurred_ms: i64,
}

/// The flags of each event of `new` (same order), given the already stored events of the same
/// document (`earlier`, any order) and the enabled rules. An event counts as "before" another
/// when it occurred earlier, or at the same instant and earlier in the request (EVT-40).
pub fn evaluate(enabled: &[Rule], earlier: &[DocEvent<'_>], new: &[DocEvent<'_>]) -> Vec<Vec<Rule>> {
    let on = |r: Rule| enabled.contains(&r);
    let has_document = earlier.iter().chain(new).any(|e| matches!(e.name, "REG_DOCUMENT_OPEN" | "REG_DOCUMENT_OPEN_DEFER_RESTORE"));
    new.iter()
        .enumerate()
        .map(|(i, e)| {
            let before = || {
                earlier.iter().filter(move |p| p.occurred_ms <= e.occurred_ms).chain(new[..i].iter().filter(move |p| p.occurred_ms <= e.occurred_ms))
            };
            let mut flags = Vec::new();
            match e.name {
                "REG_POSITION_CANCEL"
                    if on(Rule::PositionCancelAfterPayment)
                        && before().any(|p| matches!(p.name, "REG_PAYMENT_MODE" | "REG_PAYMENT_REGISTRATION")) =>
                {
                    flags.push(Rule::PositionCancelAfterPayment)
                }
                "SYS_OPEN_MONEY_BOX" if on(Rule::MoneyBoxWithoutDocument) && e.kind == "manual" && !has_document => {
                    flags.push(Rule::MoneyBoxWithoutDocument)
                }
                "REG_DOCUMENT_CANCEL"
                    if on(Rule::DocumentCancelAfterCard) && before().any(|p| p.name == "REG_CARD_REGISTRATION") =>
                {
                    flags.push(Rule::DocumentCancelAfterCard)
                }
                "REG_PAYMENT_CANCEL" if on(Rule::PaymentCancelled) => flags.push(Rule::PaymentCancelled),
                _ => {}
            }
            flags
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, kind: &str, t: i64) -> DocEvent<'static> {
        DocEvent { name: Box::leak(name.to_owned().into_boxed_str()), kind: Box::leak(kind.to_owned().into_boxed_str()), occurred_ms: t }
    }

    #[test]
    fn position_cancel_after_payment_mode_is_flagged_only_after_it() {
        let new = [ev("REG_DOCUMENT_OPEN", "receipt", 1), ev("REG_POSITION_CANCEL", "goods", 2), ev("REG_PAYMENT_MODE", "", 3), ev("REG_POSITION_CANCEL", "goods", 4)];
        let f = evaluate(&Rule::ALL, &[], &new);
        assert_eq!(f, vec![vec![], vec![], vec![], vec![Rule::PositionCancelAfterPayment]]);
        // Disabled: nothing.
        assert!(evaluate(&[], &[], &new).iter().all(Vec::is_empty));
    }

    #[test]
    fn history_counts_and_out_of_order_history_after_the_event_does_not() {
        let earlier = [ev("REG_PAYMENT_MODE", "", 10)];
        assert_eq!(evaluate(&Rule::ALL, &earlier, &[ev("REG_POSITION_CANCEL", "", 11)]), vec![vec![Rule::PositionCancelAfterPayment]]);
        assert_eq!(evaluate(&Rule::ALL, &earlier, &[ev("REG_POSITION_CANCEL", "", 9)]), vec![Vec::<Rule>::new()]);
    }

    #[test]
    fn money_box_without_document() {
        assert_eq!(evaluate(&Rule::ALL, &[], &[ev("SYS_OPEN_MONEY_BOX", "manual", 1)]), vec![vec![Rule::MoneyBoxWithoutDocument]]);
        assert_eq!(evaluate(&Rule::ALL, &[], &[ev("SYS_OPEN_MONEY_BOX", "auto", 1)]), vec![Vec::<Rule>::new()]);
        let earlier = [ev("REG_DOCUMENT_OPEN", "payOut", 0)];
        assert_eq!(evaluate(&Rule::ALL, &earlier, &[ev("SYS_OPEN_MONEY_BOX", "manual", 1)]), vec![Vec::<Rule>::new()]);
    }

    #[test]
    fn document_cancel_after_card_and_payment_cancel() {
        let new = [ev("REG_CARD_REGISTRATION", "clientCard", 1), ev("REG_PAYMENT_CANCEL", "cash", 2), ev("REG_DOCUMENT_CANCEL", "", 3)];
        assert_eq!(
            evaluate(&Rule::ALL, &[], &new),
            vec![vec![], vec![Rule::PaymentCancelled], vec![Rule::DocumentCancelAfterCard]]
        );
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.id()), Some(r));
        }
    }
}
