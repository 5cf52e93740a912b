//! Deciding one request on one snapshot: the response and the commit that goes with it.
//! No IO here; the caller reads the snapshot and writes the commit.

use super::Settings;
use kassa_domain::loyalty::engine::{self, ActiveHold, RuleSet, SaleRecord};
use kassa_domain::loyalty::ledger::{Entry, EntryKind};
use kassa_domain::loyalty::response::{self, Body, CashierBlock, ClientInfo, Info, Positions, PrintElement, render, templates};
use kassa_domain::loyalty::wire::{
    Action, ClientKey, DocPayment, DocType, DocumentRequest, ErrorCode, LoyaltyError, PaymentMode, PaymentType, Position,
};
use kassa_money::Money;
use kassa_store::loyalty::{ClientState, Commit, DocRow, DocWrite, HoldChange, NewHold, Snapshot, SnapshotQuery, ValidationCode};

/// A decided request.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub response: Body,
    pub commit: Commit,
    pub flagged: bool,
    pub note: String,
    /// (phone, code) of a newly issued validation code, sent once the commit is durable.
    pub issued_code: Option<(String, String)>,
}

impl Decision {
    fn answer(response: Body) -> Self {
        Self { response, commit: Commit::default(), flagged: false, note: String::new(), issued_code: None }
    }

    fn with(response: Body, commit: Commit, flagged: bool, note: String) -> Self {
        Self { response, commit, flagged, note, issued_code: None }
    }
}

/// What to read for `req`.
pub fn query(req: &DocumentRequest, now_ms: i64) -> SnapshotQuery {
    let mut q = SnapshotQuery { client: Some(req.client.clone()), now_ms, ..Default::default() };
    match req.action {
        Action::Calculate => {
            if let (Some(uid), ClientKey::Phone(p)) = (&req.uid, &req.client) {
                q.code_for = Some((uid.clone(), p.clone()));
            }
        }
        Action::PayByBonus | Action::CancelBonusPayment => {
            q.uid = req.uid.clone();
            q.doc_type = Some(DocType::Receipt.as_str().into());
        }
        Action::Confirm => {
            q.uid = req.uid.clone();
            q.doc_type = Some(req.doc_type.as_str().into());
            match req.doc_type {
                DocType::Receipt => q.pending_refunds_of = req.uid.clone(),
                DocType::RefundReceipt => q.reference_uid = req.reference_uid.clone(),
            }
        }
    }
    q
}

fn not_found() -> LoyaltyError {
    LoyaltyError::new(ErrorCode::ClientNotFound, "Клиент не найден или заблокирован")
}

/// LOY-57, LOY-72: unknown or blocked clients get code 4.
fn known_client(snap: &Snapshot) -> Result<&ClientState, LoyaltyError> {
    snap.client.as_ref().filter(|c| !c.client.blocked).ok_or_else(not_found)
}

fn balance_info(c: &ClientState, available: Money) -> CashierBlock {
    CashierBlock {
        text: render(
            templates::BALANCE,
            &[("balance", c.account.balance.to_string()), ("available", available.max(Money::ZERO).to_string())],
        ),
        bold: false,
    }
}

fn slip(c: &ClientState, lines: Vec<PrintElement>) -> Vec<PrintElement> {
    let mut s = vec![PrintElement::Text { text: templates::SLIP_TITLE.into(), size: Some("medium"), alignment: Some("center") }];
    if !c.client.name.is_empty() {
        s.push(PrintElement::text(render(templates::CLIENT, &[("name", c.client.name.clone())]).trim_end().to_owned()));
    }
    s.extend(lines);
    s.push(PrintElement::Pair { left: "Баланс".into(), right: c.account.balance.to_string() });
    s
}

fn entry(client: &str, kind: EntryKind, amount: Money, at: i64, uid: &str, note: &str) -> Entry {
    Entry { client_id: client.to_owned(), kind, amount, available_at_ms: at, doc_uid: Some(uid.to_owned()), note: note.to_owned() }
}

pub fn document(
    req: &DocumentRequest,
    snap: &Snapshot,
    now: i64,
    settings: &Settings,
    new_code: &mut dyn FnMut() -> String,
) -> Result<Decision, LoyaltyError> {
    let rules = RuleSet::new(&snap.rules);
    match req.action {
        Action::Calculate => calculate(req, snap, &rules, now, settings, new_code),
        Action::PayByBonus => pay(req, snap, &rules),
        Action::CancelBonusPayment => cancel(req, snap),
        Action::Confirm if req.doc_type == DocType::Receipt => confirm_sale(req, snap, &rules, now),
        Action::Confirm => confirm_refund(req, snap, now),
    }
}

/// §5.1: read-only apart from the audit record and a validation code (LOY-27).
fn calculate(
    req: &DocumentRequest,
    snap: &Snapshot,
    rules: &RuleSet,
    now: i64,
    settings: &Settings,
    new_code: &mut dyn FnMut() -> String,
) -> Result<Decision, LoyaltyError> {
    let c = known_client(snap)?;
    let spendable = c.account.spendable();
    // LOY-29: without positions this is a balance query: no document.
    let calc = (!req.positions.is_empty()).then(|| rules.calculate(&req.positions, spendable));
    if let Some(calc) = &calc {
        engine::check_discounts(&req.positions, &calc.discounts)
            .map_err(|e| LoyaltyError::new(ErrorCode::Internal, format!("Внутренняя ошибка расчёта: {e}")))?;
    }
    let available = calc.as_ref().map_or(spendable.max(Money::ZERO), |calc| calc.available);
    let document = calc
        .as_ref()
        .filter(|calc| !calc.discounts.is_empty())
        .map(|calc| Positions { field: "discountAmount", parts: &calc.discounts });
    let mut commit = Commit::default();
    // LOY-69: a client requiring verification gets a code in every phone precheck; the same
    // code within its validity for the same (uid, phone).
    let mut issued_code = None;
    let validation_code = match (&req.client, c.client.requires_validation) {
        (ClientKey::Phone(phone), true) => Some(match &snap.code {
            Some(code) => code.code.clone(),
            None => {
                let code = new_code();
                // LOY-29: a no-document precheck has no uid, and nothing is keyed by an empty
                // one: its code is not kept (each such precheck issues a new one).
                commit.code = req.uid.as_ref().map(|uid| ValidationCode {
                    uid: uid.clone(),
                    phone: phone.clone(),
                    code: code.clone(),
                    expires_at_ms: now + settings.code_validity_ms,
                });
                issued_code = Some((phone.clone(), code.clone()));
                code
            }
        }),
        _ => None,
    };
    let client = ClientInfo {
        mobile_phone: c.client.phone.clone(),
        email: c.client.email.clone(),
        validation_code,
        available_amount: available,
    };
    // LOY-59: no slip on prechecks (the POS prints it on every one).
    let info = Info { cashier: vec![balance_info(c, available)], slips: vec![] };
    let mut d = Decision::with(response::success(Some(&client), document, &info), commit, false, String::new());
    d.issued_code = issued_code;
    Ok(d)
}

/// §5.2, LOY-50, LOY-81, LOY-83: reserve the bonus, answer with an exact distribution.
fn pay(req: &DocumentRequest, snap: &Snapshot, rules: &RuleSet) -> Result<Decision, LoyaltyError> {
    let c = known_client(snap)?;
    let uid = req.uid.as_deref().unwrap_or_default();
    if snap.doc.is_some() {
        return Err(LoyaltyError::new(ErrorCode::StateConflict, "Документ уже подтверждён"));
    }
    // LOY-81: the same request again while its reservation is active is a replay.
    if let Some(h) = snap.holds.iter().rev().find(|h| h.state == "active" && h.fingerprint == req.fingerprint) {
        let mut d = Decision::answer(Body::stored(&h.response));
        d.note = format!("replay of reservation {}", h.id);
        return Ok(d);
    }
    let amount = req.payment.map(|p| p.amount).unwrap_or(Money::ZERO);
    let spendable = c.account.spendable();
    if amount > spendable {
        return Err(LoyaltyError::new(ErrorCode::BonusUnavailable, format!("Недостаточно бонусов: доступно {}", spendable.max(Money::ZERO))));
    }
    let limit = rules.bonus_limit(&req.positions);
    if amount > limit {
        return Err(LoyaltyError::new(ErrorCode::BonusUnavailable, format!("Сумма оплаты бонусами превышает допустимую: {limit}")));
    }
    let parts = rules
        .distribute(&req.positions, amount)
        .ok_or_else(|| LoyaltyError::new(ErrorCode::BonusUnavailable, "Оплата бонусами невозможна для этих позиций"))?;
    engine::check_distribution(&req.positions, amount, &parts)
        .map_err(|e| LoyaltyError::new(ErrorCode::Internal, format!("Внутренняя ошибка распределения: {e}")))?;
    let after = spendable - amount;
    let info = Info {
        cashier: vec![
            CashierBlock { text: render(templates::PAID, &[("amount", amount.to_string())]), bold: true },
            balance_info(c, after),
        ],
        slips: vec![],
    };
    let resp = response::success(None, Some(Positions { field: "paidAmount", parts: &parts }), &info);
    let commit = Commit {
        versions: vec![(c.client.id.clone(), c.version)],
        entries: vec![entry(&c.client.id, EntryKind::Hold, amount, 0, uid, "payByBonus")],
        new_holds: vec![NewHold {
            uid: uid.to_owned(),
            client_id: c.client.id.clone(),
            amount,
            fingerprint: req.fingerprint.clone(),
            response: resp.text.clone(),
        }],
        ..Default::default()
    };
    Ok(Decision::with(resp, commit, false, String::new()))
}

/// §5.3, LOY-65, LOY-82.
fn cancel(req: &DocumentRequest, snap: &Snapshot) -> Result<Decision, LoyaltyError> {
    let uid = req.uid.as_deref().unwrap_or_default();
    if snap.doc.is_some() {
        return Err(LoyaltyError::new(ErrorCode::StateConflict, "Документ уже подтверждён, отмена невозможна"));
    }
    if snap.holds.is_empty() {
        return Err(LoyaltyError::new(ErrorCode::StateConflict, "Нет оплаты бонусами для отмены"));
    }
    let amount = req.payment.map(|p| p.amount).unwrap_or(Money::ZERO);
    let active: Vec<_> = snap.holds.iter().filter(|h| h.state == "active").collect();
    let Some(h) = active.iter().rev().find(|h| h.amount == amount).or(active.last()).copied() else {
        // All reservations already cancelled or released: a replay.
        let mut d = Decision::answer(response::success(None, None, &Info::default()));
        d.note = "replay: nothing left to cancel".into();
        return Ok(d);
    };
    let note = if h.amount == amount { String::new() } else { format!("amount mismatch: cancel {amount}, reservation {}", h.amount) };
    if !note.is_empty() {
        tracing::warn!(uid, %note, "cancelBonusPayment");
    }
    let info = Info {
        cashier: vec![CashierBlock { text: render(templates::CANCELLED, &[("amount", h.amount.to_string())]), bold: false }],
        slips: vec![],
    };
    let commit = Commit {
        hold_changes: vec![HoldChange { id: h.id, from: "active".into(), to: "cancelled".into() }],
        entries: vec![entry(&h.client_id, EntryKind::Release, h.amount, 0, uid, "cancelBonusPayment")],
        ..Default::default()
    };
    Ok(Decision::with(response::success(None, None, &info), commit, false, note))
}

/// LOY-80: a confirm for a settled (uid, type) is a replay or a conflict.
fn replay(req: &DocumentRequest, doc: &DocRow) -> Result<Decision, LoyaltyError> {
    if doc.fingerprint == req.fingerprint {
        let mut d = Decision::answer(Body::stored(&doc.response));
        d.note = "replay".into();
        Ok(d)
    } else {
        Err(LoyaltyError::new(ErrorCode::StateConflict, "Документ с этим uid уже подтверждён с другим содержимым"))
    }
}

fn sum(payments: &[DocPayment], f: impl Fn(&DocPayment) -> bool) -> Money {
    payments.iter().filter(|p| f(p)).fold(Money::ZERO, |a, p| a + p.amount)
}

fn positions_of(record: &SaleRecord) -> Vec<Position> {
    record
        .lines
        .iter()
        .map(|l| Position {
            index: l.index,
            id: l.id.clone(),
            text: String::new(),
            price: l.price,
            minimum_price: Money::ZERO,
            quantity: l.quantity,
            total_amount: l.total,
        })
        .collect()
}

fn doc_row(req: &DocumentRequest, client: Option<&str>, state: &str, resp: &Body, data: String, flagged: bool, now: i64) -> DocRow {
    DocRow {
        uid: req.uid.clone().unwrap_or_default(),
        doc_type: req.doc_type.as_str().into(),
        client_id: client.map(str::to_owned),
        fingerprint: req.fingerprint.clone(),
        state: state.into(),
        reference_uid: req.reference_uid.clone(),
        response: resp.text.clone(),
        data,
        flagged,
        created_at_ms: now,
    }
}

/// §5.4, LOY-58, LOY-83: capture, release or debit, accrue; reconcile waiting refunds.
fn confirm_sale(req: &DocumentRequest, snap: &Snapshot, rules: &RuleSet, now: i64) -> Result<Decision, LoyaltyError> {
    if let Some(doc) = &snap.doc {
        return replay(req, doc);
    }
    let c = known_client(snap)?;
    let id = c.client.id.as_str();
    let uid = req.uid.as_deref().unwrap_or_default();
    let mut notes = Vec::new();
    let bonus = sum(&req.payments, |p| p.kind == PaymentType::Bonus);
    let holds: Vec<ActiveHold> =
        snap.holds.iter().filter(|h| h.state == "active").map(|h| ActiveHold { id: h.id, amount: h.amount }).collect();
    let settle = engine::settle_holds(&holds, bonus);
    // No version check: nothing here depends on the balance (late debits may go negative,
    // LOY-83); reservations are guarded by their state, the sale by its unique insert, and the
    // refunds reconciled below by their count and state.
    let mut commit = Commit {
        expect_pending_refunds: Some((uid.to_owned(), snap.pending_refunds.len() as i64)),
        ..Default::default()
    };
    for h in &settle.capture {
        commit.hold_changes.push(HoldChange { id: h.id, from: "active".into(), to: "captured".into() });
        commit.entries.push(entry(id, EntryKind::Capture, h.amount, now, uid, "confirm"));
    }
    for h in &settle.release {
        commit.hold_changes.push(HoldChange { id: h.id, from: "active".into(), to: "released".into() });
        commit.entries.push(entry(id, EntryKind::Release, h.amount, now, uid, "not in the confirm"));
        notes.push(format!("reservation {} of {} released: not in the confirm", h.id, h.amount));
    }
    if settle.direct_debit > Money::ZERO {
        commit.entries.push(entry(id, EntryKind::Debit, settle.direct_debit, now, uid, "bonus without reservation"));
        notes.push(format!("bonus {} debited without a reservation", settle.direct_debit));
    }
    let accrued = rules.accrual(&req.payments);
    if accrued > Money::ZERO {
        commit.entries.push(entry(id, EntryKind::Accrual, accrued, now + rules.activation_delay_ms(), uid, "confirm"));
    }
    // LOY-52: advisory consistency check.
    let totals = req.positions.iter().fold(Money::ZERO, |a, p| a + p.total_amount);
    let fiscal = sum(&req.payments, |p| p.mode == PaymentMode::Fiscal);
    if totals - req.discarded_amount.unwrap_or(Money::ZERO) != fiscal {
        notes.push(format!("Σ totalAmount {totals} − discardedAmount ≠ Σ fiscal payments {fiscal}"));
    }
    let mut sale = SaleRecord::new(&req.positions, accrued, bonus);
    // LOY-73: refunds that arrived before this sale.
    for r in &snap.pending_refunds {
        let refund: SaleRecord = serde_json::from_str(&r.data).unwrap_or_default();
        let effect = engine::apply_refund(&mut sale, &positions_of(&refund));
        push_refund_entries(&mut commit, id, &r.uid, &effect, now);
        let mut done = r.clone();
        done.state = "confirmed".into();
        done.flagged = r.flagged || effect.unmatched;
        commit.docs.push(DocWrite::replace(r, done));
        notes.push(format!("pending refund {} reconciled", r.uid));
    }
    let spent = settle.capture.iter().fold(settle.direct_debit, |a, h| a + h.amount);
    let balance_after = commit.entries.iter().fold(c.account.balance, |b, e| b + e.effect().0);
    let shown = ClientState { account: kassa_domain::loyalty::ledger::Account { balance: balance_after, ..c.account }, ..c.clone() };
    let text = render(templates::CONFIRMED, &[("accrued", accrued.to_string()), ("spent", spent.to_string())]);
    let info = Info {
        cashier: vec![CashierBlock { text: text.clone(), bold: false }, balance_info(&shown, shown.account.spendable())],
        slips: vec![slip(&shown, vec![
            PrintElement::Pair { left: "Начислено".into(), right: accrued.to_string() },
            PrintElement::Pair { left: "Списано".into(), right: spent.to_string() },
        ])],
    };
    let resp = response::success(None, None, &info);
    let flagged = settle.flagged() || notes.iter().any(|n| !n.starts_with("pending refund"));
    let data = serde_json::to_string(&sale).unwrap_or_default();
    commit.docs.push(DocWrite::insert(doc_row(req, Some(id), "confirmed", &resp, data, flagged, now)));
    Ok(Decision::with(resp, commit, flagged, notes.join("; ")))
}

fn push_refund_entries(commit: &mut Commit, client: &str, uid: &str, effect: &engine::RefundEffect, now: i64) {
    if effect.accrual_reversal > Money::ZERO {
        commit.entries.push(entry(client, EntryKind::AccrualReversal, effect.accrual_reversal, now, uid, "refund"));
    }
    if effect.bonus_return > Money::ZERO {
        commit.entries.push(entry(client, EntryKind::BonusReturn, effect.bonus_return, now, uid, "refund"));
    }
}

/// §5.5, LOY-73: reverse the refunded part of the sale, or wait for the sale.
fn confirm_refund(req: &DocumentRequest, snap: &Snapshot, now: i64) -> Result<Decision, LoyaltyError> {
    if let Some(doc) = &snap.doc {
        return replay(req, doc);
    }
    let c = known_client(snap)?;
    let id = c.client.id.as_str();
    let uid = req.uid.as_deref().unwrap_or_default();
    // Guarded by the sale record it changes (or the sale's absence), not by the balance.
    let mut commit = Commit::default();
    let refund = SaleRecord::new(&req.positions, Money::ZERO, Money::ZERO);
    let Some(sale) = &snap.sale else {
        let info = Info { cashier: vec![CashierBlock { text: "Возврат принят\n".into(), bold: false }], slips: vec![] };
        let resp = response::success(None, None, &info);
        let data = serde_json::to_string(&refund).unwrap_or_default();
        commit.docs.push(DocWrite::insert(doc_row(req, Some(id), "pending", &resp, data, false, now)));
        if let Some(r) = &req.reference_uid {
            commit.expect_absent.push((r.clone(), DocType::Receipt.as_str().into()));
        }
        let note = format!("sale {} not known yet: refund pending", req.reference_uid.as_deref().unwrap_or_default());
        return Ok(Decision::with(resp, commit, false, note));
    };
    let mut record: SaleRecord = serde_json::from_str(&sale.data).unwrap_or_default();
    let effect = engine::apply_refund(&mut record, &req.positions);
    push_refund_entries(&mut commit, id, uid, &effect, now);
    let mut notes = Vec::new();
    if sale.client_id.as_deref() != Some(id) {
        notes.push(format!("refund client {id} differs from the sale's {:?}", sale.client_id));
    }
    if effect.unmatched {
        notes.push("refunded quantities exceed the sale or positions not found in it".into());
    }
    let mut sale_row = sale.clone();
    sale_row.data = serde_json::to_string(&record).unwrap_or_default();
    commit.docs.push(DocWrite::replace(sale, sale_row));
    let balance_after = commit.entries.iter().fold(c.account.balance, |b, e| b + e.effect().0);
    let shown = ClientState { account: kassa_domain::loyalty::ledger::Account { balance: balance_after, ..c.account }, ..c.clone() };
    let text = render(
        templates::REFUNDED,
        &[("reversed", effect.accrual_reversal.to_string()), ("returned", effect.bonus_return.to_string())],
    );
    let info = Info {
        cashier: vec![CashierBlock { text, bold: false }, balance_info(&shown, shown.account.spendable())],
        slips: vec![slip(&shown, vec![
            PrintElement::Pair { left: "Списано начисленных".into(), right: effect.accrual_reversal.to_string() },
            PrintElement::Pair { left: "Возвращено бонусов".into(), right: effect.bonus_return.to_string() },
        ])],
    };
    let resp = response::success(None, None, &info);
    let flagged = !notes.is_empty();
    let data = serde_json::to_string(&refund).unwrap_or_default();
    commit.docs.push(DocWrite::insert(doc_row(req, Some(id), "confirmed", &resp, data, flagged, now)));
    Ok(Decision::with(resp, commit, flagged, notes.join("; ")))
}

/// §5.6, LOY-71: the balance in the cashier message and on a slip.
pub fn client(snap: &Snapshot) -> Result<Body, LoyaltyError> {
    let c = known_client(snap)?;
    let spendable = c.account.spendable().max(Money::ZERO);
    let info = Info {
        cashier: vec![balance_info(c, spendable)],
        slips: vec![slip(c, vec![PrintElement::Pair { left: "Доступно".into(), right: spendable.to_string() }])],
    };
    Ok(response::success(None, None, &info))
}
