//! KZ registers (cash core) in the fiscal engine: documents through `Core` with the synchronous
//! OFD submit, autonomous mode and the upload after recovery, the admin route, `kassa journal
//! verify` on KZ journals, and the same flow on PostgreSQL.

use super::common::{self, spawn_app_pg, skip_pg, test_config};
use super::{BIN, manual, verify_cli};
use kassa_core::{Core, ManualClock};
use kassa_core::fiscal::EngineError;
use kassa_domain::fiscal::kz::{KzCommand, KzRegister, parse};
use kassa_domain::fiscal::{Command, FiscalError, RegisterState};
use kassa_domain::kz::{self, Body, Caller, CommandType, ListBody, MoneyPlacementKind, Operation};
use kassa_money::Money;
use kassa_workers::Worker;
use kassa_workers::fiscal::OfdUplink;
use reqwest::StatusCode;
use serde_json::json;

/// The demo KKM of cash-core.md §7.4 (vendor id ISCR1018036404743, OFD id 6923).
const KKM: &str = "ISCR1018036404743";
/// A KKM whose id is not a vendor id: one is generated on first use (CORE-45).
const KKM2: &str = "kz-till-2";
const H: i64 = 3_600_000;

fn tenant() -> serde_json::Value {
    json!({
        "id": "kz",
        "group": [{"code": "KZG", "inn": "990140000123", "payment_address": "Алматы, ул. Абая 1", "sno": ["osn"]}],
        "register": [
            {"id": KKM, "profile": "kz", "group": "KZG", "ofd_id": "6923", "reg_number": "010100134464"},
            {"id": KKM2, "profile": "kz", "group": "KZG", "ofd_id": "6924"}
        ]
    })
}

async fn app() -> common::TestApp {
    let mut config = test_config();
    config.fiscal.uplink = false;
    let app = common::spawn_app_with(config).await;
    let r = app.client.put_tenant("kz", &tenant()).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app
}

fn caller() -> Caller {
    Caller { code: 1, name: "Administrator".into() }
}

/// The §7.11 TradeOperation request (TV-4): 2 × 1000, item discount 50, ticket discount 200,
/// cash 1000 + card 1000, VAT 12 % 187.50 ticket-level.
fn tv4_request() -> kz::Command {
    let mut v: serde_json::Value = serde_json::from_str(include_str!("../../../domain/src/kz/testdata/trade_request.json")).unwrap();
    v["command"] = json!("trade");
    serde_json::from_value(v).unwrap()
}

fn sell_cash(sum: &str) -> kz::Command {
    serde_json::from_value(json!({"command": "trade", "operation": 2,
        "items": [{"type": 1, "commodity": {"name": "Хлеб", "section_code": "1", "quantity": 1,
            "price": serde_json::Value::Number(sum.parse().unwrap()), "sum": serde_json::Value::Number(sum.parse().unwrap()),
            "measure_unit_code": "796", "taxes": []}}],
        "payments": [{"type": 0, "sum": serde_json::Value::Number(sum.parse().unwrap())}]}))
    .unwrap()
}

fn cmd(request: kz::Command) -> Command {
    Command::Kz(KzCommand::new(request, caller()))
}

fn placement(operation: i64, sum: i64) -> Command {
    cmd(kz::Command::MoneyPlacement(kz::MoneyPlacementRequest { operation, sum: Money::from_minor(sum) }))
}

fn report(report_type: i64) -> Command {
    cmd(kz::Command::Report(kz::ReportRequest { report_type }))
}

async fn kkm(core: &Core, id: &str) -> KzRegister {
    match core.fiscal().status(id).await.unwrap().record.state {
        Some(RegisterState::Kz(r)) => r,
        other => panic!("a KZ state: {other:?}"),
    }
}

fn cash_core_code(e: &EngineError) -> Option<u32> {
    match e {
        EngineError::Fiscal(f) => Some(f.cash_core_code()),
        _ => None,
    }
}

/// Every journaled document of a KZ register, parsed.
async fn documents(core: &Core, id: &str) -> Vec<kz::Document> {
    let journal = core.fiscal().journal(id, 0, 1000).await.unwrap();
    journal.iter().map(|e| parse(e.doc.as_bytes()).unwrap().document).collect()
}

/// TV-4 (online), TV-6, TV-7, TV-8 through the engine on a fresh KKM, checked on `core`'s store.
async fn sell_deposit_x_z(core: &Core) {
    let e = core.fiscal();
    // TV-4 / CORE-72, CORE-74, CORE-75: T = 1750, C_net = 750; online → fiscal id and QR from the
    // OFD (CORE-94); the shift opens with the ticket (CORE-62).
    let docs = e.execute(KKM, cmd(tv4_request())).await.unwrap();
    assert_eq!(docs.len(), 1);
    let t = &docs[0];
    assert_eq!((t.kind.as_str(), t.number, t.shift_number, t.receipt_number, t.total), ("ticket", 1, 1, Some(1), Money::from_minor(175_000)));
    assert!(!t.pending, "accepted online: already at the OFD");
    assert_eq!(t.delivered_at, Some(t.time_ms), "CORE-80: delivered flag set by the synchronous submit");
    let d = parse(t.doc.as_bytes()).unwrap().document;
    assert!(!d.is_offline);
    assert_eq!(d.fiscal_id, "1000000001");
    // CORE-100 format, KZ local time (T0 = 2026-01-01T00:00Z = 05:00 in Kazakhstan).
    let qr = "http://consumer.test-oofd.kz/?&i=1000000001&f=010100134464&s=1750,00&t=20260101T050000";
    assert_eq!((d.qr_code.as_str(), t.qr.as_deref()), (qr, Some(qr)));
    let Body::Ticket(ticket) = &d.body else { panic!("a ticket body") };
    assert_eq!((ticket.amounts.total, ticket.amounts.change), (Money::from_minor(175_000), Money::from_minor(25_000)));
    assert_eq!(ticket.offline_ticket_number, 0, "CORE-98: online tickets have 0");
    assert_eq!(
        d.list_body,
        ListBody::Ticket { operation: Operation::Sell, payments: vec![kz::PaymentType::Cash, kz::PaymentType::Card], sum: Money::from_minor(175_000), fiscal_id: "1000000001".into() }
    );
    let k = kkm(core, KKM).await;
    assert_eq!((k.kkm.cash_sum, k.kkm.revenue, k.kkm.non_nullable_sums[2]), (Money::from_minor(75_000), Money::from_minor(175_000), Money::from_minor(175_000)));
    assert_eq!((k.kkm.shift_state, k.kkm.fr_shift_number, k.kkm.shift_document_number), (1, 1, 2));
    // CORE-45: the register id is the vendor id; reg_info from provisioning.
    assert_eq!((k.kkm.vendor_id(), k.kkm.reg_info.kkm.kkm_id.as_str()), (KKM, "6923"));

    // TV-6 / CORE-78: deposit 1000 → cash 1750; revenue and non-nullable sums unchanged.
    let docs = e.execute(KKM, placement(0, 100_000)).await.unwrap();
    assert_eq!((docs[0].kind.as_str(), docs[0].number, docs[0].total), ("money_placement", 2, Money::from_minor(100_000)));
    let k = kkm(core, KKM).await;
    assert_eq!((k.kkm.cash_sum, k.kkm.revenue, k.kkm.shift_document_number), (Money::from_minor(175_000), Money::from_minor(175_000), 3));

    // TV-7 / CORE-84..88: X report of the shift.
    let docs = e.execute(KKM, report(1)).await.unwrap();
    assert_eq!(docs[0].kind, "x_report");
    let x = parse(docs[0].doc.as_bytes()).unwrap().document;
    let Body::Report(x) = &x.body else { panic!("a report body") };
    assert_eq!(x.cash_sum, Money::from_minor(175_000));
    assert_eq!(kz::total_payments(x), [Money::from_minor(75_000), Money::from_minor(100_000), Money::ZERO, Money::ZERO, Money::ZERO]);
    let deposit = x.money_placements.iter().find(|m| m.operation == MoneyPlacementKind::Deposit).unwrap();
    assert_eq!((deposit.operations_count, deposit.operations_sum), (1, Money::from_minor(100_000)));
    assert_eq!(kkm(core, KKM).await.kkm.shift_document_number, 4);

    // TV-8 / CORE-79, CORE-90: with auto_withdraw_money (set in the same command), the Z is
    // preceded by a withdrawal of the drawer, both journaled in one transaction.
    let z_with_withdrawal = KzCommand {
        request: Some(kz::Command::Report(kz::ReportRequest { report_type: 0 })),
        auto_withdraw_money: Some(true),
        caller: caller(),
        submission: None,
    };
    let docs = e.execute(KKM, Command::Kz(z_with_withdrawal)).await.unwrap();
    assert_eq!(docs.iter().map(|d| (d.kind.as_str(), d.number, d.shift_number)).collect::<Vec<_>>(), [("money_placement", 4, 1), ("z_report", 5, 1)]);
    let w = parse(docs[0].doc.as_bytes()).unwrap().document;
    assert_eq!((w.fr_shift_number, w.shift_document_number), (1, 4));
    assert_eq!(w.list_body, ListBody::MoneyPlacement { operation: MoneyPlacementKind::Withdrawal, sum: Money::from_minor(175_000) });
    let z = parse(docs[1].doc.as_bytes()).unwrap().document;
    assert_eq!((z.command, z.shift_document_number), (CommandType::CloseShift, 5));
    let ListBody::Report { revenue, non_nullable_sums, .. } = &z.list_body else { panic!("a report list body") };
    assert_eq!(*revenue, Money::from_minor(175_000));
    assert_eq!(non_nullable_sums.iter().map(|n| (n.operation, n.sum)).collect::<Vec<_>>(), [(Operation::Sell, Money::from_minor(175_000))]);
    let Body::Report(zb) = &z.body else { panic!() };
    assert_eq!(zb.cash_sum, Money::ZERO);
    let withdrawal = zb.money_placements.iter().find(|m| m.operation == MoneyPlacementKind::Withdrawal).unwrap();
    assert_eq!((withdrawal.operations_total_count, withdrawal.operations_count, withdrawal.operations_sum), (1, 1, Money::from_minor(175_000)));
    // CORE-63: the next shift, closed, document 1, revenue 0, start sums = non-nullable sums.
    let k = kkm(core, KKM).await;
    assert_eq!((k.kkm.fr_shift_number, k.kkm.shift_state, k.kkm.shift_document_number), (2, 0, 1));
    assert_eq!((k.kkm.revenue, k.kkm.cash_sum), (Money::ZERO, Money::ZERO));
    assert_eq!(k.kkm.start_shift_non_nullable_sums, k.kkm.non_nullable_sums);
    // "The next ticket opens shift 2 as document 1."
    let docs = e.execute(KKM, cmd(sell_cash("10.5"))).await.unwrap();
    let n = parse(docs[0].doc.as_bytes()).unwrap().document;
    assert_eq!((n.fr_shift_number, n.shift_document_number, docs[0].number), (2, 1, 6));

    // §9: the persisted counters equal the report recomputed from the journal.
    let k = kkm(core, KKM).await;
    let all = documents(core, KKM).await;
    assert!(kz::counters_match_journal(&k.kkm, &all, kz::LifetimeCounts::default(), kassa_domain::fiscal::kz::local(core.clock.now_ms())).unwrap());
    let bytes: Vec<String> = core.fiscal().journal(KKM, 0, 1000).await.unwrap().into_iter().map(|e| e.doc).collect();
    let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_bytes()).collect();
    RegisterState::Kz(k).counters_match_journal(&refs).unwrap();
    let v = e.verify().await.unwrap();
    assert_eq!((v.problem, v.entries), (None, 6));
}

/// Two "nodes" (engines with their own runtime and OFD simulator) on one store register tickets
/// on one KKM at once: the store re-checks the prepared state under the lock and the losing engine
/// prepares again (FiscalError::Stale), so numbering stays gapless and nothing is lost.
async fn two_nodes_on_one_kkm(app: &common::TestApp) {
    let a = app.core.clone();
    let mut b = Core::new(app.core.store.clone(), app.core.clock.clone());
    b.fiscal = std::sync::Arc::new(kassa_core::fiscal::FiscalRuntime::default());
    let mut tasks = Vec::new();
    for i in 0..12 {
        let core = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { core.fiscal().execute(KKM, cmd(sell_cash(&format!("{}", 10 + i)))).await.unwrap() }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let docs = t.await.unwrap();
        assert_eq!(docs.len(), 1);
        numbers.push((docs[0].number, parse(docs[0].doc.as_bytes()).unwrap().document.shift_document_number));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=12).map(|n| (n, n as u32)).collect::<Vec<_>>());
    let k = kkm(&a, KKM).await;
    assert_eq!(k.kkm.non_nullable_sums[2], Money::from_minor((10..22).sum::<i64>() * 100));
    assert_eq!(a.fiscal().verify().await.unwrap().problem, None);
}

#[tokio::test]
async fn kz_two_nodes_on_one_kkm_keep_numbering_gapless() {
    let app = app().await;
    two_nodes_on_one_kkm(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn kz_two_nodes_on_one_kkm_on_postgres() {
    let mut config = test_config();
    config.fiscal.uplink = false;
    let Some(app) = spawn_app_pg(config).await else { return skip_pg("kz_two_nodes_on_one_kkm_on_postgres") };
    app.client.put_tenant("kz", &tenant()).await.unwrap();
    two_nodes_on_one_kkm(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn kz_sell_deposit_x_and_z_with_automatic_withdrawal() {
    let app = app().await;
    let (core, _) = manual(&app);
    sell_deposit_x_z(&core).await;
    app.stop().await;
}

#[tokio::test]
async fn kz_on_postgres() {
    let mut config = test_config();
    config.fiscal.uplink = false;
    let Some(app) = spawn_app_pg(config).await else { return skip_pg("kz_on_postgres") };
    app.client.put_tenant("kz", &tenant()).await.unwrap();
    let (core, clock) = manual(&app);
    sell_deposit_x_z(&core).await;
    autonomous_mode(&app, &core, &clock, &app.core.fiscal.simulator.clone().unwrap(), KKM2).await;
    let url = app.pg.as_ref().unwrap().url.clone();
    let out = std::process::Command::new(BIN).args(["journal", "verify", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    app.stop().await;
}

#[tokio::test]
async fn kz_refusals_carry_cash_core_codes_and_consume_nothing() {
    let app = app().await;
    let (core, clock) = manual(&app);
    let e = core.fiscal();
    // TV-16: cash 500 + card 1000 < 1750 → 57; cash 1000 + card 1800 → 55.
    let mut v = serde_json::to_value(tv4_request()).unwrap();
    v["payments"] = json!([{"type": 0, "sum": 500}, {"type": 1, "sum": 1000}]);
    let err = e.execute(KKM, cmd(serde_json::from_value(v.clone()).unwrap())).await.unwrap_err();
    assert_eq!(cash_core_code(&err), Some(57), "{err:?}");
    v["payments"] = json!([{"type": 0, "sum": 1000}, {"type": 1, "sum": 1800}]);
    let err = e.execute(KKM, cmd(serde_json::from_value(v).unwrap())).await.unwrap_err();
    assert_eq!(cash_core_code(&err), Some(55), "{err:?}");
    // CORE-78: withdrawal above the drawer → 58; CORE-89: report type 7 → 34.
    assert_eq!(cash_core_code(&e.execute(KKM, placement(1, 100)).await.unwrap_err()), Some(58));
    assert_eq!(cash_core_code(&e.execute(KKM, report(7)).await.unwrap_err()), Some(34));
    // Step D: the customer is the seller → 77.
    let mut same = serde_json::to_value(tv4_request()).unwrap();
    same["customer_iin_or_bin"] = json!("990140000123");
    let err = e.execute(KKM, cmd(serde_json::from_value(same).unwrap())).await.unwrap_err();
    assert!(matches!(err, EngineError::Fiscal(FiscalError::Kz(kz::KzError::SameTaxpayerAndCustomer))), "{err:?}");
    // CORE-94: an OFD that rejects the document → 84, nothing journaled, the KKM stays online.
    let sim = app.core.fiscal.simulator.clone().unwrap();
    sim.set_mode(kassa_core::fiscal::ofd::OfdMode::Rejecting);
    assert_eq!(cash_core_code(&e.execute(KKM, cmd(sell_cash("100"))).await.unwrap_err()), Some(84));
    sim.set_mode(kassa_core::fiscal::ofd::OfdMode::Up);
    // Nothing was journaled by the refusals.
    assert_eq!(e.journal(KKM, 0, 100).await.unwrap().len(), 0);
    assert!(!kkm(&core, KKM).await.kkm.is_offline);
    // CORE-64: a ticket on a shift open for 24 hours first closes it with an automatic Z.
    e.execute(KKM, cmd(sell_cash("100"))).await.unwrap();
    clock.advance_ms(24 * H);
    assert_eq!(e.status(KKM).await.unwrap().session_state, "expired");
    let docs = e.execute(KKM, cmd(sell_cash("100"))).await.unwrap();
    assert_eq!(docs.iter().map(|d| (d.kind.as_str(), d.shift_number)).collect::<Vec<_>>(), [("z_report", 1), ("ticket", 2)]);
    // CORE-32: the clock behind the last record → 36.
    clock.advance_ms(-60_000);
    assert_eq!(cash_core_code(&e.execute(KKM, report(1)).await.unwrap_err()), Some(36));
    assert!(matches!(e.execute("nope", report(1)).await, Err(EngineError::UnknownRegister(_))));
    app.stop().await;
}

/// Autonomous mode on `id` (a fresh KKM) with the simulator switched over the admin API.
async fn autonomous_mode(app: &common::TestApp, core: &Core, clock: &ManualClock, sim: &kassa_core::fiscal::ofd::OfdSimulator, id: &str) {
    let e = core.fiscal();
    let mut uplink = OfdUplink::new(core.clone());
    // CORE-45: a vendor id generated at first use (T0 local = 2026-01-01T05:00:00.000).
    e.execute(id, cmd(sell_cash("1"))).await.unwrap();
    let k = kkm(core, id).await;
    assert_eq!(k.kkm.vendor_id(), kz::vendor_id("ISCR", kassa_domain::fiscal::kz::local(super::T0)).unwrap().vendor_id);

    // CORE-95: unreachable → the document is accepted autonomously, the KKM goes offline.
    let r = app.client.set_ofd_mode(&json!({"mode": "unreachable"})).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    clock.advance_ms(H);
    let mut offline = Vec::new();
    for sum in ["2", "3"] {
        let docs = e.execute(id, cmd(sell_cash(sum))).await.unwrap();
        assert!(docs[0].pending, "autonomous documents wait for the upload");
        offline.push(docs[0].seq);
        let d = parse(docs[0].doc.as_bytes()).unwrap().document;
        let Body::Ticket(t) = &d.body else { panic!() };
        // CORE-98: offline numbers from 1001; CORE-100: the consumer QR string.
        let n = 1000 + offline.len() as u32;
        assert_eq!((d.is_offline, d.fiscal_id.clone(), t.offline_ticket_number), (true, n.to_string(), n));
        assert!(d.qr_code.starts_with(&format!("http://consumer.test-oofd.kz/?&i={n}&f=")), "{}", d.qr_code);
        assert!(d.qr_code.ends_with(&format!("&s={sum},00&t=20260101T060000")), "{}", d.qr_code);
    }
    // A deposit while autonomous is queued too (CORE-80: every document goes to the OFD).
    let docs = e.execute(id, placement(0, 500)).await.unwrap();
    assert!(docs[0].pending);
    let st = e.status(id).await.unwrap();
    let Some(RegisterState::Kz(k)) = &st.record.state else { panic!() };
    assert!(k.kkm.is_offline);
    assert_eq!((st.record.unsent.count, st.record.unsent.first_seq), (3, Some(offline[0])));
    let r = app.client.register(id).await.unwrap();
    assert_eq!((r.body["state"]["kkm"]["is_offline"].as_bool(), r.body["unsent"]["count"].as_u64()), (Some(true), Some(3)));
    // The uplink cannot deliver while the OFD is unreachable.
    uplink.run_once().await.unwrap();
    assert_eq!(e.status(id).await.unwrap().record.unsent.count, 3);

    // CORE-97: 72 hours after entering autonomous mode every document is refused with 18.
    clock.advance_ms(72 * H);
    for c in [cmd(sell_cash("4")), report(1), placement(0, 100)] {
        let err = e.execute(id, c).await.unwrap_err();
        assert_eq!(cash_core_code(&err), Some(18), "{err:?}");
        assert!(matches!(err, EngineError::Fiscal(FiscalError::Kz(kz::KzError::OfflineTooLong))));
    }
    assert_eq!(e.status(id).await.unwrap().record.unsent.count, 3, "refusals journal nothing");

    // CORE-96: back up → the upload task delivers everything in journal order and the KKM leaves
    // autonomous mode; delivery does not change a record's fiscal id.
    let r = app.client.set_ofd_mode(&json!({"mode": "up"})).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    uplink.run_once().await.unwrap();
    let st = e.status(id).await.unwrap();
    assert_eq!(st.record.unsent.count, 0);
    let Some(RegisterState::Kz(k)) = &st.record.state else { panic!() };
    assert!(!k.kkm.is_offline && k.kkm.offline_start_date.is_none());
    assert_eq!(k.kkm.offline_ticket_number, 1002, "never reused");
    assert_eq!(sim.snapshot().registers[id].last_seq, offline[0] + 2);
    let journal = e.journal(id, 0, 100).await.unwrap();
    let delivered: Vec<_> = journal.iter().filter_map(|j| j.delivered_at.map(|_| j.seq)).collect();
    assert_eq!(delivered, [1, offline[0], offline[1], offline[1] + 1], "the online ticket at its submit, the rest uploaded");
    assert!(journal[1..].iter().all(|j| j.delivered_at > Some(j.time_ms)), "uploaded after recovery");
    assert_eq!(parse(journal[1].doc.as_bytes()).unwrap().document.fiscal_id, "1001");
    // Online again: the next ticket (after an automatic Z of the expired shift, CORE-64) gets a
    // fiscal id from the OFD and nothing is pending.
    let docs = e.execute(id, cmd(sell_cash("5"))).await.unwrap();
    assert_eq!(docs.iter().map(|d| (d.kind.as_str(), d.pending)).collect::<Vec<_>>(), [("z_report", false), ("ticket", false)]);
    let d = parse(docs[1].doc.as_bytes()).unwrap().document;
    assert!(!d.is_offline && d.fiscal_id.starts_with("10000"), "{}", d.fiscal_id);
    let v = e.verify().await.unwrap();
    assert_eq!(v.problem, None);
}

#[tokio::test]
async fn kz_autonomous_mode_72_hours_and_upload_after_recovery() {
    let app = app().await;
    let (core, clock) = manual(&app);
    let sim = app.core.fiscal.simulator.clone().unwrap();
    autonomous_mode(&app, &core, &clock, &sim, KKM2).await;
    app.stop().await;
}

#[tokio::test]
async fn kz_admin_route_registers_cash_core_commands() {
    let app = app().await;
    let c = &app.client;
    let mut body = json!({"request": serde_json::to_value(tv4_request()).unwrap(), "caller": {"code": 2, "name": "Кассир"}});
    let r = c.register_document(KKM, &body).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["documents"][0]["kind"], "ticket");
    let doc: serde_json::Value = serde_json::from_str(r.body["documents"][0]["doc"].as_str().unwrap()).unwrap();
    assert_eq!(doc["document"]["body"]["operator"], json!({"code": 2, "name": "Кассир"}));
    // A KZ refusal: 409 with the cash-core code (TV-17: empty items → 45).
    body["request"]["items"] = json!([]);
    let r = c.register_document(KKM, &body).await.unwrap();
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!((r.body["error"]["cash_core_code"].as_u64(), r.body["error"]["fiscal_error"]["text"].as_str()), (Some(45), Some("items_list_is_empty")));
    // An RU command on a KZ register is malformed input.
    let r = c.register_document(KKM, &json!({"type": "x_report"})).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.register_document(KKM, &json!({"request": {"command": "report", "report_type": 1}})).await.unwrap();
    assert_eq!((r.status, r.body["documents"][0]["kind"].as_str()), (StatusCode::OK, Some("x_report")));
    // The example of the OpenAPI document is a valid command.
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../../api/src/openapi/fiscal.json")).unwrap();
    let r = c.register_document(KKM, &doc["components"]["schemas"]["KzCommand"]["example"]).await.unwrap();
    assert_eq!((r.status, r.body["documents"][0]["total"].to_string()), (StatusCode::OK, "1750.00".to_owned()), "{}", r.body);
    // A settings change alone (CORE-79 auto_withdraw_money) issues no document.
    let r = c.register_document(KKM, &json!({"auto_withdraw_money": true})).await.unwrap();
    assert_eq!((r.status, r.body["documents"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    assert_eq!(c.register(KKM).await.unwrap().body["state"]["kkm"]["auto_withdraw_money"], true);
    let r = c.register_document(KKM, &json!({"request": {"command": "report", "report_type": 0}})).await.unwrap();
    let kinds: Vec<_> = r.body["documents"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["money_placement", "z_report"], "CORE-79 withdrawal first");
    assert_eq!(c.register_document(KKM, &json!({})).await.unwrap().status, StatusCode::CONFLICT, "neither request nor setting");
    app.stop().await;
}

#[tokio::test]
async fn journal_verify_cli_checks_kz_journals_and_catches_tampering() {
    let app = app().await;
    let e = app.core.fiscal();
    e.execute(KKM, cmd(tv4_request())).await.unwrap();
    e.execute(KKM, placement(0, 100_000)).await.unwrap();
    e.execute(KKM, report(1)).await.unwrap();
    let mut app = app;
    let tmp = app.data_dir.take().unwrap();
    app.stop().await;
    let dir = tmp.path().to_owned();
    let (ok, out) = verify_cli(&dir);
    assert!(ok && out.contains("1 register(s), 3 entries"), "{out}");

    // One byte of the ticket's fiscal id.
    let db = rusqlite::Connection::open(dir.join(kassa::DB_FILE)).unwrap();
    let doc: String = db.query_row("SELECT doc FROM fiscal_journal WHERE seq = 1", [], |r| r.get(0)).unwrap();
    let tampered = doc.replacen("\"fiscal_id\":\"1000000001\"", "\"fiscal_id\":\"1000000002\"", 1);
    assert_ne!(tampered, doc);
    db.execute("UPDATE fiscal_journal SET doc = ?1 WHERE seq = 1", [&tampered]).unwrap();
    let (ok, out) = verify_cli(&dir);
    assert!(!ok && out.contains(&format!("register {KKM} entry 1 (document 1): entry hash does not match its content")), "{out}");
    db.execute("UPDATE fiscal_journal SET doc = ?1 WHERE seq = 1", [&doc]).unwrap();
    assert!(verify_cli(&dir).0);
    // Counters that no longer equal the journal (§9 check): the shift revenue.
    let state: String = db.query_row("SELECT state FROM fiscal_registers", [], |r| r.get(0)).unwrap();
    let bad = state.replacen("\"revenue\":1750", "\"revenue\":1751", 1);
    assert_ne!(bad, state);
    db.execute("UPDATE fiscal_registers SET state = ?1", [&bad]).unwrap();
    let (ok, out) = verify_cli(&dir);
    assert!(!ok && out.contains("shift revenue 1751.00 differs from the journal's 1750.00"), "{out}");
    drop(tmp);
}
