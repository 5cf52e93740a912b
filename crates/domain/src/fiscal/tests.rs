//! Unit tests of the RU register and a property test against a small reference model.

use super::ru::{self, Command, Correction, Item, Operation, Payment, Receipt, Service};
use super::*;
use kassa_money::{Money, Quantity};
use proptest::prelude::*;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const SECRET: &[u8] = b"per-fn-secret";

fn identity() -> Identity {
    Identity {
        register_id: "00106201961044".into(),
        fn_number: "9999078900001234".into(),
        reg_number: "0000000001047487".into(),
        inn: "331122667723".into(),
        payment_address: "magazin.ru".into(),
        sno: vec!["osn".into()],
        ofd_id: String::new(),
    }
}

fn m(minor: i64) -> Money {
    Money::from_minor(minor)
}

fn item(price: i64, qty_thousandths: i64, sum: i64) -> Item {
    Item {
        name: "Товар".into(),
        price: m(price),
        quantity: Quantity::from_thousandths(qty_thousandths),
        sum: m(sum),
        tax: "vat20".into(),
        tax_sum: m(sum / 6),
        section: 1,
    }
}

fn sell(total: i64, payments: Vec<Payment>) -> Command {
    Command::Receipt(Receipt {
        operation: Operation::Sell,
        items: vec![item(total, 1000, total)],
        payments,
        total: m(total),
        sno: None,
        service: Some(Service { inn: "331122667723".into(), payment_address: "magazin.ru".into() }),
        cashier: None,
    })
}

fn cash(sum: i64) -> Payment {
    Payment { kind: 0, sum: m(sum) }
}

fn card(sum: i64) -> Payment {
    Payment { kind: 1, sum: m(sum) }
}

struct Reg {
    state: RegisterState,
    id: Identity,
    policy: Policy,
    now: i64,
    journal: Vec<Issued>,
}

impl Reg {
    fn new() -> Self {
        let id = identity();
        Self {
            state: RegisterState::initial(crate::provisioning::RegisterProfile::Ru, &id, T0).unwrap(),
            id,
            policy: Policy::default(),
            now: T0,
            journal: vec![],
        }
    }

    fn run(&mut self, c: Command) -> Result<Vec<Issued>, FiscalError> {
        self.run_fault(c, None)
    }

    fn run_fault(&mut self, c: Command, fault: Option<i32>) -> Result<Vec<Issued>, FiscalError> {
        let ctx = Ctx { now_ms: self.now, secret: SECRET, identity: &self.id, policy: self.policy, fault };
        let applied = apply(&self.state, &super::Command::Ru(c), &ctx)?;
        self.state = applied.state;
        self.journal.extend(applied.documents.iter().cloned());
        Ok(applied.documents)
    }

    fn ru(&self) -> &ru::RuState {
        match &self.state {
            RegisterState::Ru(s) => s,
            RegisterState::Kz(_) => panic!("an RU register"),
        }
    }
}

#[test]
fn first_receipt_opens_the_shift_and_numbers_are_gapless() {
    // ATOL-89: the FN document counter and the shift receipt counter increase by one.
    let mut r = Reg::new();
    let docs = r.run(sell(10_000, vec![cash(10_000)])).unwrap();
    assert_eq!(docs.iter().map(|d| (d.kind, d.number)).collect::<Vec<_>>(), [("open_shift", 1), ("receipt", 2)]);
    assert_eq!(docs[1].shift_number, 1);
    assert_eq!(docs[1].receipt_number, Some(1));
    let docs = r.run(sell(500, vec![cash(500)])).unwrap();
    assert_eq!((docs[0].number, docs[0].receipt_number), (3, Some(2)));
    assert_eq!(r.ru().cash, m(10_500));
}

#[test]
fn fiscal_sign_reverifies_and_detects_changes() {
    let mut r = Reg::new();
    let docs = r.run(sell(10_000, vec![cash(10_000)])).unwrap();
    let d = &docs[1];
    assert_eq!(fiscal_sign(SECRET, &d.bytes), d.fiscal_sign);
    let mut tampered = d.bytes.clone();
    let pos = tampered.iter().position(|&b| b == b'1').unwrap();
    tampered[pos] = b'2';
    assert_ne!(fiscal_sign(SECRET, &tampered), d.fiscal_sign);
    assert_ne!(fiscal_sign(b"another FN", &d.bytes), d.fiscal_sign);
}

#[test]
fn qr_string_has_the_itk94_shape() {
    // ITK-94: t=YYYYMMDDTHHMMSS&s=sum&fn=&i=&fp=10 digits&n=operation, Moscow time.
    let mut r = Reg::new();
    r.now = T0 + 13 * 3_600_000 + 34 * 60_000 + 37_000;
    let docs = r.run(sell(175_000, vec![cash(100_000), card(75_000)])).unwrap();
    let qr = docs[1].qr.as_deref().unwrap();
    let expected = format!("t=20260101T163437&s=1750.00&fn=9999078900001234&i=2&fp={:010}&n=1", docs[1].fiscal_sign);
    assert_eq!(qr, expected);
    // ITK-95: for shift documents s is 0.00 and n is 0.
    assert!(docs[0].qr.as_deref().unwrap().contains("&s=0.00&") && docs[0].qr.as_deref().unwrap().ends_with("&n=0"));
}

#[test]
fn atol88_checks_run_in_order() {
    // ATOL-88: fault, service, sno, zero price, zero quantity, tax sum, underpaid, non-cash.
    let mut r = Reg::new();
    let c = sell(1000, vec![cash(1000)]);
    assert_eq!(r.run_fault(c.clone(), Some(-3822)).unwrap_err().atol_code(), -3822);

    let Command::Receipt(base) = sell(1000, vec![cash(1000)]) else { unreachable!() };
    let mut all_bad = base.clone();
    all_bad.service = Some(Service { inn: "7700000000".into(), payment_address: "magazin.ru".into() });
    all_bad.sno = Some("envd".into());
    all_bad.items[0].price = Money::ZERO;
    all_bad.items[0].quantity = Quantity::ZERO;
    all_bad.items[0].tax_sum = m(5000);
    all_bad.payments = vec![card(500)];
    let expected = [2, -4021, -3805, -3804, -3969, -3897];
    let mut cur = all_bad;
    for code in expected {
        let e = r.run(Command::Receipt(cur.clone())).unwrap_err();
        assert_eq!(e.atol_code(), code, "{e:?}");
        match code {
            2 => cur.service = base.service.clone(),
            -4021 => cur.sno = None,
            -3805 => cur.items[0].price = m(1000),
            -3804 => cur.items[0].quantity = Quantity::ONE,
            -3969 => cur.items[0].tax_sum = m(100),
            _ => cur.payments = vec![card(1500)],
        }
    }
    // ATOL-88 step 8 (ITK-57 too: P ≥ T, and change only from cash): non-cash above the total.
    assert_eq!(r.run(Command::Receipt(cur.clone())).unwrap_err().atol_code(), -3896);
    cur.payments = vec![card(1000)];
    assert!(r.run(Command::Receipt(cur)).is_ok());
    // A failed command consumed no number.
    assert_eq!(r.ru().last_fiscal_number, 2);
}

#[test]
fn address_mismatch_is_agent_error_2_and_missing_sno_with_many_is_4021() {
    // ATOL-87: INN or payment address mismatch → agent 2.
    let mut r = Reg::new();
    let Command::Receipt(mut rc) = sell(1000, vec![cash(1000)]) else { unreachable!() };
    rc.service = Some(Service { inn: "331122667723".into(), payment_address: "other.ru".into() });
    assert_eq!(r.run(Command::Receipt(rc.clone())).unwrap_err(), FiscalError::ServiceMismatch { field: "payment_address".into() });
    rc.service = None;
    r.id.sno = vec!["osn".into(), "usn_income".into()];
    assert_eq!(r.run(Command::Receipt(rc)).unwrap_err(), FiscalError::SnoNotAllowed { sno: None });
}

#[test]
fn total_may_round_the_positions_sum_by_up_to_99_kopecks() {
    // ATOL-57 seed example: Σ = 7612.42, total = 7612, payment 7612.
    let mut r = Reg::new();
    let Command::Receipt(mut rc) = sell(761_200, vec![cash(761_200)]) else { unreachable!() };
    rc.items = vec![item(700_000, 1000, 700_000), item(61_242, 1000, 61_242)];
    let docs = r.run(Command::Receipt(rc.clone())).unwrap();
    assert_eq!(docs[1].total, m(761_200));
    assert_eq!(r.ru().counters.receipts[&Operation::Sell].sum, m(761_200));
    rc.total = m(761_142);
    rc.payments = vec![cash(761_142)];
    assert_eq!(r.run(Command::Receipt(rc)).unwrap_err().atol_code(), -3803);
}

#[test]
fn correction_without_service_skips_the_inn_check() {
    // D-34 / ATOL-63: a correction's total is its payments sum.
    let mut r = Reg::new();
    let docs = r
        .run(Command::Correction(Correction {
            operation: Operation::Sell,
            payments: vec![cash(300), card(200)],
            taxes: vec![],
            sno: Some("osn".into()),
            service: None,
            base: "предписание".into(),
        }))
        .unwrap();
    assert_eq!(docs[1].total, m(500));
    assert_eq!(r.ru().cash, m(300));
}

#[test]
fn shift_over_24_hours_refuses_until_closed() {
    // ATOL -3822 shift over 24 hours; ITK-123 sessionState `expired` after 24 h.
    let mut r = Reg::new();
    r.run(sell(1000, vec![cash(1000)])).unwrap();
    r.now += SHIFT_LIMIT_MS;
    assert_eq!(r.ru().session_state(r.now, SHIFT_LIMIT_MS), "expired");
    let e = r.run(sell(1000, vec![cash(1000)])).unwrap_err();
    assert_eq!(e.atol_code(), -3822);
    r.run(Command::XReport).unwrap();
    let z = r.run(Command::CloseShift { cashier: None }).unwrap();
    assert_eq!(z[0].kind, "close_shift");
    let docs = r.run(sell(1000, vec![cash(1000)])).unwrap();
    assert_eq!((docs[1].shift_number, docs[1].receipt_number), (2, Some(1)));
}

#[test]
fn expired_shift_is_closed_and_reopened_when_configured() {
    // ITK-111: on an expired shift the executor first closes it and opens a new one
    // (ITK-93: `expired` after 24 hours).
    let mut r = Reg::new();
    r.policy.auto_close_expired = true;
    r.run(sell(1000, vec![cash(1000)])).unwrap();
    r.now += SHIFT_LIMIT_MS + 1;
    let docs = r.run(sell(500, vec![cash(500)])).unwrap();
    assert_eq!(docs.iter().map(|d| (d.kind, d.number, d.shift_number)).collect::<Vec<_>>(),
        [("close_shift", 3, 1), ("open_shift", 4, 2), ("receipt", 5, 2)]);
    r.now += SHIFT_LIMIT_MS;
    let docs = r.run(Command::CashIn { sum: m(10) }).unwrap();
    assert_eq!(docs.iter().map(|d| d.kind).collect::<Vec<_>>(), ["close_shift", "open_shift", "cash_in"]);
}

#[test]
fn shift_open_and_close_rules() {
    // ITK-123: openSession on an open shift → 83; closeSession on a closed one → 84.
    let mut r = Reg::new();
    assert_eq!(r.run(Command::CloseShift { cashier: None }).unwrap_err(), FiscalError::ShiftNotOpen);
    r.run(Command::OpenShift { cashier: None }).unwrap();
    assert_eq!(r.run(Command::OpenShift { cashier: None }).unwrap_err(), FiscalError::ShiftAlreadyOpen);
    r.policy.auto_open_shift = false;
    r.run(Command::CloseShift { cashier: None }).unwrap();
    assert_eq!(r.run(sell(100, vec![cash(100)])).unwrap_err(), FiscalError::ShiftNotOpen);
}

#[test]
fn drawer_never_goes_negative() {
    let mut r = Reg::new();
    r.run(sell(1000, vec![cash(1000)])).unwrap();
    assert_eq!(r.run(Command::CashOut { sum: m(1001) }).unwrap_err(), FiscalError::NotEnoughCash { cash: m(1000), needed: m(1001) });
    let Command::Receipt(mut refund) = sell(2000, vec![cash(2000)]) else { unreachable!() };
    refund.operation = Operation::SellRefund;
    assert!(matches!(r.run(Command::Receipt(refund.clone())).unwrap_err(), FiscalError::NotEnoughCash { .. }));
    refund.payments = vec![card(2000)];
    r.run(Command::Receipt(refund)).unwrap();
    r.run(Command::CashOut { sum: m(1000) }).unwrap();
    assert_eq!(r.ru().cash, Money::ZERO);
}

#[test]
fn change_is_counted_net_and_reports_come_from_counters() {
    let mut r = Reg::new();
    r.run(sell(1750, vec![cash(1000), card(1000)])).unwrap();
    let x = r.run(Command::XReport).unwrap();
    let doc: ru::Document = serde_json::from_slice(&x[0].bytes).unwrap();
    let ru::Body::XReport { report } = doc.body else { panic!() };
    assert_eq!(report.cash, m(750));
    assert_eq!(report.revenue, m(1750));
    assert_eq!(report.counters.change, m(250));
    assert_eq!(report.counters.payments[&Operation::Sell]["0"], m(750));
    assert_eq!(report.counters.payments[&Operation::Sell]["1"], m(1000));
    // ITK-95 / ITK-122: the X report is non-fiscal (own counter, no checkUrl).
    assert!(!x[0].fiscal && x[0].qr.is_none());
    assert_eq!((x[0].number, r.ru().last_fiscal_number), (1, 2));
    let z = r.run(Command::CloseShift { cashier: None }).unwrap();
    assert!(z[0].fiscal);
    assert_eq!(r.ru().counters, ru::ShiftCounters::default());
    assert_eq!(r.ru().non_nullable[&Operation::Sell], m(1750));
}

#[test]
fn clock_behind_is_refused() {
    let mut r = Reg::new();
    r.run(Command::XReport).unwrap();
    // A few milliseconds out of order (concurrent callers) are stamped with the last time.
    r.now -= 5;
    let x = r.run(Command::XReport).unwrap();
    assert_eq!(x[0].time_ms, r.now + 5);
    r.now -= ru::CLOCK_TOLERANCE_MS;
    assert!(matches!(r.run(Command::XReport).unwrap_err(), FiscalError::ClockBehind { .. }));
}

#[test]
fn journal_hash_chains() {
    let mut r = Reg::new();
    r.run(sell(1000, vec![cash(1000)])).unwrap();
    let h1 = journal_hash(GENESIS_HASH, r.journal[0].fiscal_sign, &r.journal[0].bytes);
    let h2 = journal_hash(&h1, r.journal[1].fiscal_sign, &r.journal[1].bytes);
    assert_eq!(h1.len(), 64);
    assert_ne!(h1, h2);
    assert_ne!(journal_hash(GENESIS_HASH, r.journal[0].fiscal_sign ^ 1, &r.journal[0].bytes), h1);
    let docs: Vec<&[u8]> = r.journal.iter().map(|d| d.bytes.as_slice()).collect();
    r.state.counters_match_journal(&docs).unwrap();
    assert!(r.state.counters_match_journal(&docs[..1]).is_err());
}

// ---- property test against a reference model ----

#[derive(Clone, Debug)]
enum Op {
    Sell { items: Vec<(i64, i64)>, cash: i64, card_share: u8, refund: bool },
    CashIn(i64),
    CashOut(i64),
    X,
    Z,
    Open,
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec((1i64..100_000, 1i64..5_000), 1..4), 0i64..200_000, 0u8..=100, any::<bool>())
            .prop_map(|(items, cash, card_share, refund)| Op::Sell { items, cash, card_share, refund }),
        1 => (1i64..50_000).prop_map(Op::CashIn),
        1 => (1i64..50_000).prop_map(Op::CashOut),
        1 => Just(Op::X),
        1 => Just(Op::Z),
        1 => Just(Op::Open),
        1 => (0i64..30 * 3_600_000).prop_map(Op::Wait),
    ]
}

/// What the model expects of the register: simple integers, computed independently.
#[derive(Default, Debug)]
struct Model {
    fiscal: u64,
    nonfiscal: u64,
    shift: u32,
    open: bool,
    opened_at: i64,
    receipts: u32,
    cash: i64,
    revenue: i64,
    non_nullable: [i64; 4],
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)))]
    #[test]
    fn register_matches_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut r = Reg::new();
        let mut model = Model::default();
        for op in ops {
            let expired = model.open && r.now - model.opened_at >= SHIFT_LIMIT_MS;
            match op {
                Op::Wait(ms) => { r.now += ms; continue; }
                Op::Sell { items, cash: cash_paid, card_share, refund } => {
                    // Position sums are price × quantity, rounded once (exact money).
                    let items: Vec<Item> = items.iter().map(|&(p, q)| {
                        let sum = m(p).mul_quantity(Quantity::from_thousandths(q)).unwrap();
                        Item { tax_sum: Money::ZERO, ..item(p, q, sum.minor()) }
                    }).filter(|i| !i.sum.is_zero()).collect();
                    prop_assume!(!items.is_empty());
                    let total: i64 = items.iter().map(|i| i.sum.minor()).sum();
                    let card_part = total * i64::from(card_share) / 100;
                    let payments = vec![cash(cash_paid), card(card_part)];
                    let operation = if refund { Operation::SellRefund } else { Operation::Sell };
                    let res = r.run(Command::Receipt(Receipt {
                        operation, items, payments, total: m(total), sno: None, service: None, cashier: None,
                    }));
                    let paid = cash_paid + card_part;
                    let cash_net = total - card_part;
                    let want_err = if paid < total { Some(-3897) }
                        else if expired { Some(-3822) }
                        else if refund && cash_net > model.cash { Some(-3810) }
                        else { None };
                    match (res, want_err) {
                        (Err(e), Some(code)) => prop_assert_eq!(e.atol_code(), code),
                        (Ok(docs), None) => {
                            if !model.open {
                                model.open = true; model.shift += 1; model.receipts = 0; model.fiscal += 1;
                                model.opened_at = r.now;
                            }
                            model.fiscal += 1; model.receipts += 1;
                            let dir = if refund { -1 } else { 1 };
                            model.cash += dir * cash_net;
                            model.revenue += dir * total;
                            model.non_nullable[usize::from(operation.code() - 1)] += total;
                            let last = docs.last().unwrap();
                            prop_assert_eq!(last.number, model.fiscal);
                            prop_assert_eq!(last.receipt_number, Some(model.receipts));
                            // Splits sum exactly: payments by type add up to the total.
                            let doc: ru::Document = serde_json::from_slice(&last.bytes).unwrap();
                            let ru::Body::Receipt { payments, change, .. } = doc.body else { panic!() };
                            let paid_sum: i64 = payments.iter().map(|p| p.sum.minor()).sum();
                            prop_assert_eq!(paid_sum - change.minor(), total);
                        }
                        (res, want) => prop_assert!(false, "got {:?}, expected error {:?}", res.map(|d| d.len()), want),
                    }
                }
                Op::CashIn(s) | Op::CashOut(s) => {
                    let cash_in = matches!(op, Op::CashIn(_));
                    let res = r.run(if cash_in { Command::CashIn { sum: m(s) } } else { Command::CashOut { sum: m(s) } });
                    if expired { prop_assert_eq!(res.unwrap_err().atol_code(), -3822); }
                    else if !cash_in && s > model.cash { let refused = matches!(res, Err(FiscalError::NotEnoughCash { .. })); prop_assert!(refused); }
                    else {
                        res.unwrap();
                        // ITK-111: a closed shift is opened first.
                        if !model.open { model.open = true; model.shift += 1; model.receipts = 0; model.fiscal += 1; model.opened_at = r.now; }
                        model.cash += if cash_in { s } else { -s };
                        model.nonfiscal += 1;
                    }
                }
                Op::X => { r.run(Command::XReport).unwrap(); model.nonfiscal += 1; }
                Op::Open => {
                    let res = r.run(Command::OpenShift { cashier: None });
                    if model.open { prop_assert_eq!(res.unwrap_err(), FiscalError::ShiftAlreadyOpen); }
                    else { res.unwrap(); model.open = true; model.shift += 1; model.receipts = 0; model.fiscal += 1; model.opened_at = r.now; }
                }
                Op::Z => {
                    let res = r.run(Command::CloseShift { cashier: None });
                    if !model.open { prop_assert_eq!(res.unwrap_err(), FiscalError::ShiftNotOpen); }
                    else {
                        let z = res.unwrap();
                        let doc: ru::Document = serde_json::from_slice(&z[0].bytes).unwrap();
                        let ru::Body::CloseShift { report } = doc.body else { panic!() };
                        prop_assert_eq!(report.revenue.minor(), model.revenue);
                        prop_assert_eq!(report.cash.minor(), model.cash);
                        model.open = false; model.fiscal += 1; model.revenue = 0;
                    }
                }
            }
            let s = r.ru();
            prop_assert!(!s.cash.is_negative());
            prop_assert_eq!(s.cash.minor(), model.cash);
            prop_assert_eq!(s.last_fiscal_number, model.fiscal);
            prop_assert_eq!(s.last_nonfiscal_number, model.nonfiscal);
            prop_assert_eq!(s.shift_number, model.shift);
            prop_assert_eq!(s.revenue().minor(), model.revenue);
            for o in Operation::ALL {
                prop_assert_eq!(s.non_nullable.get(&o).copied().unwrap_or_default().minor(), model.non_nullable[usize::from(o.code() - 1)]);
                // Splits sum exactly: payments by type and amounts by section add up to the totals.
                let c = &s.counters;
                let receipts = c.receipts.get(&o).map_or(0, |x| x.sum.minor());
                let paid: i64 = c.payments.get(&o).map_or(0, |m| m.values().map(|v| v.minor()).sum());
                let sections: i64 = c.sections.get(&o).map_or(0, |m| m.values().map(|v| v.minor()).sum());
                let turnover: i64 = c.taxes.get(&o).map_or(0, |m| m.values().map(|v| v.turnover.minor()).sum());
                prop_assert_eq!(paid, receipts);
                prop_assert_eq!(sections, receipts);
                prop_assert_eq!(turnover, receipts);
            }
        }
        // Counters equal the sum of the journal; every fiscal sign re-verifies.
        let docs: Vec<&[u8]> = r.journal.iter().map(|d| d.bytes.as_slice()).collect();
        prop_assert!(r.state.counters_match_journal(&docs).is_ok());
        for d in r.journal.iter().filter(|d| d.fiscal) {
            prop_assert_eq!(fiscal_sign(SECRET, &d.bytes), d.fiscal_sign);
        }
    }
}
