//! Fiscal register engine: the engine through `Core` on a running server, the admin routes over
//! HTTP, the OFD uplink against the simulator, and `kassa journal verify` against a tampered byte.

#[path = "../common/mod.rs"]
mod common;
mod kz;

use common::{ADMIN_TOKEN, spawn_app_pg, spawn_app_with, skip_pg, test_config};
use kassa_core::fiscal::EngineError;
use kassa_core::fiscal::ofd::OfdMode;
use kassa_core::{Core, ManualClock};
use kassa_domain::fiscal::ru::{self, Item, Operation, Payment, Receipt};
use kassa_domain::fiscal::{Command, FiscalError, SHIFT_LIMIT_MS};
use kassa_money::{Money, Quantity};
use kassa_workers::Worker;
use kassa_workers::fiscal::OfdUplink;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_kassa");
const T0: i64 = 1_767_225_600_000;

fn tenant() -> serde_json::Value {
    json!({
        "id": "shop",
        "group": [{"code": "G", "inn": "7701234567", "payment_address": "shop.ru", "sno": ["osn"]}],
        "register": [
            {"id": "R1", "profile": "ru", "group": "G", "fn_number": "9999078900001234"},
            {"id": "R2", "profile": "ru", "group": "G"}
        ]
    })
}

fn receipt(op: Operation, minor: i64, payments: Vec<Payment>) -> Receipt {
    Receipt {
        operation: op,
        items: vec![Item {
            name: "Товар".into(),
            price: Money::from_minor(minor),
            quantity: Quantity::ONE,
            sum: Money::from_minor(minor),
            tax: "vat20".into(),
            tax_sum: Money::ZERO,
            section: 1,
        }],
        payments,
        total: Money::from_minor(minor),
        sno: None,
        service: Some(ru::Service { inn: "7701234567".into(), payment_address: "shop.ru".into() }),
        cashier: None,
    }
}

fn cash(minor: i64) -> Payment {
    Payment { kind: 0, sum: Money::from_minor(minor) }
}

/// A server that does not run its own uplink worker: tests step it.
async fn app() -> common::TestApp {
    let mut config = test_config();
    config.fiscal.uplink = false;
    let app = spawn_app_with(config).await;
    assert_eq!(app.client.put_tenant("shop", &tenant()).await.unwrap().status, StatusCode::OK);
    app
}

/// The same store and OFD link with a clock the test moves.
fn manual(app: &common::TestApp) -> (Core, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0));
    let mut core = Core::new(app.core.store.clone(), clock.clone());
    core.fiscal = app.core.fiscal.clone();
    (core, clock)
}

#[tokio::test]
async fn engine_registers_receipts_with_gapless_numbers_sign_and_qr() {
    let app = app().await;
    let (core, _) = manual(&app);
    let e = core.fiscal();
    let docs = e.receipt("R1", receipt(Operation::Sell, 175_000, vec![cash(200_000)])).await.unwrap();
    // ATOL-89: FN document counter and shift receipt counter; auto-open first.
    assert_eq!(docs.iter().map(|d| (d.kind.as_str(), d.number)).collect::<Vec<_>>(), [("open_shift", 1), ("receipt", 2)]);
    // ITK-94: the QR string, Moscow time (T0 = 03:00 MSK), fp zero-padded to 10 digits.
    let qr = docs[1].qr.clone().unwrap();
    assert_eq!(qr, format!("t=20260101T030000&s=1750.00&fn=9999078900001234&i=2&fp={:010}&n=1", docs[1].fiscal_sign));
    let st = e.status("R1").await.unwrap();
    assert_eq!(st.session_state, "opened");
    assert_eq!(st.revenue, Money::from_minor(175_000));
    // ITK-98: both fiscal documents are unsent until the uplink runs.
    assert_eq!((st.record.unsent.count, st.record.unsent.first_number), (2, Some(1)));
    let Some(kassa_domain::fiscal::RegisterState::Ru(s)) = st.record.state else { panic!() };
    assert_eq!(s.cash, Money::from_minor(175_000), "change of 250.00 was given out of the drawer");
    assert_eq!(e.verify().await.unwrap().problem, None);
    app.stop().await;
}

#[tokio::test]
async fn refusals_are_typed_and_consume_nothing() {
    let app = app().await;
    let (core, clock) = manual(&app);
    let e = core.fiscal();
    // ATOL-87: another INN → agent error 2.
    let mut r = receipt(Operation::Sell, 1000, vec![cash(1000)]);
    r.service = Some(ru::Service { inn: "7700000000".into(), payment_address: "shop.ru".into() });
    let err = e.receipt("R1", r).await.unwrap_err();
    assert!(matches!(&err, EngineError::Fiscal(f) if f.atol_code() == 2), "{err:?}");
    // ATOL-88 step 7: underpaid → -3897.
    let err = e.receipt("R1", receipt(Operation::Sell, 1000, vec![cash(999)])).await.unwrap_err();
    assert!(matches!(&err, EngineError::Fiscal(f) if f.atol_code() == -3897), "{err:?}");
    // The drawer never goes negative.
    let err = e.receipt("R1", receipt(Operation::SellRefund, 1000, vec![cash(1000)])).await.unwrap_err();
    assert!(matches!(err, EngineError::Fiscal(FiscalError::NotEnoughCash { .. })), "{err:?}");
    // ATOL-88 step 1: an injected fault answers its code, once per attempt.
    e.inject_fault("R1", 1, -3935);
    let err = e.receipt("R1", receipt(Operation::Sell, 1000, vec![cash(1000)])).await.unwrap_err();
    assert!(matches!(err, EngineError::Fiscal(FiscalError::InjectedFault { code: -3935 })), "{err:?}");
    let docs = e.receipt("R1", receipt(Operation::Sell, 1000, vec![cash(1000)])).await.unwrap();
    assert_eq!(docs.last().unwrap().number, 2, "refusals consumed no number");
    // ATOL -3822: a shift older than 24 hours refuses receipts until it is closed.
    clock.advance_ms(SHIFT_LIMIT_MS);
    assert_eq!(e.status("R1").await.unwrap().session_state, "expired");
    let err = e.receipt("R1", receipt(Operation::Sell, 1000, vec![cash(1000)])).await.unwrap_err();
    assert!(matches!(&err, EngineError::Fiscal(f) if f.atol_code() == -3822), "{err:?}");
    let z = e.close_shift("R1", None).await.unwrap();
    assert_eq!(z[0].kind, "close_shift");
    let docs = e.receipt("R1", receipt(Operation::Sell, 1000, vec![cash(1000)])).await.unwrap();
    assert_eq!((docs[1].shift_number, docs[1].receipt_number), (2, Some(1)));
    assert!(matches!(e.x_report("nope").await, Err(EngineError::UnknownRegister(_))));
    app.stop().await;
}

#[tokio::test]
async fn ofd_outage_keeps_documents_unsent_and_recovery_uploads_in_order() {
    // CORE-92: the OFD link is an interface with a scriptable in-process simulator.
    // CORE-96: a background pass submits undelivered records in journal order; each acknowledged
    // one is marked delivered, any other outcome ends the pass.
    let app = app().await;
    let core = app.core.clone();
    let sim = core.fiscal.simulator.clone().unwrap();
    let mut uplink = OfdUplink::new(core.clone());
    let e = core.fiscal();
    e.receipt("R1", receipt(Operation::Sell, 100, vec![cash(100)])).await.unwrap();
    uplink.run_once().await.unwrap();
    assert_eq!(e.status("R1").await.unwrap().record.unsent.count, 0);

    // Unreachable: documents pile up, the register shows count, first number and date (ITK-98).
    let r = app.client.set_ofd_mode(&json!({"mode": "unreachable"})).await.unwrap();
    assert_eq!((r.status, r.body["mode"].as_str()), (StatusCode::OK, Some("unreachable")));
    for minor in [200, 300, 400] {
        e.receipt("R1", receipt(Operation::Sell, minor, vec![cash(minor)])).await.unwrap();
    }
    uplink.run_once().await.unwrap();
    let st = e.status("R1").await.unwrap();
    assert_eq!((st.record.unsent.count, st.record.unsent.first_number), (3, Some(3)));
    assert!(st.record.unsent.first_time_ms.is_some());
    let r = app.client.register("R1").await.unwrap();
    assert_eq!(r.body["unsent"]["count"], 3);

    // Rejecting: still unsent.
    sim.set_mode(OfdMode::Rejecting);
    uplink.run_once().await.unwrap();
    assert_eq!(e.status("R1").await.unwrap().record.unsent.count, 3);

    // Slow, then up: everything uploads, in journal order (the simulator refuses gaps).
    app.client.set_ofd_mode(&json!({"mode": "slow", "delay_ms": 5})).await.unwrap();
    uplink.run_once().await.unwrap();
    assert_eq!(e.status("R1").await.unwrap().record.unsent.count, 0);
    let snap = app.client.ofd().await.unwrap().body;
    assert_eq!(snap["registers"]["R1"]["last_seq"], 5);
    assert_eq!(snap["registers"]["R1"]["received"], 5);
    let journal = e.journal("R1", 0, 100).await.unwrap();
    assert!(journal.iter().all(|j| !j.pending && j.delivered_at.is_some()));
    let r = app.client.set_ofd_mode(&json!({"mode": "sideways"})).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test]
async fn admin_routes_register_documents_and_report_refusals() {
    let app = app().await;
    let c = &app.client;
    let sell = json!({"type": "receipt", "operation": "sell", "total": 10.01, "sno": "osn",
        "items": [{"name": "Хлеб", "price": 10.01, "quantity": 1, "sum": 10.01, "tax": "vat10", "tax_sum": 0.91}],
        "payments": [{"type": 1, "sum": 10.01}]});
    let r = c.register_document("R2", &sell).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["documents"][1]["total"], json!(10.01));
    // ATOL-88 step 8: non-cash above the total → 409 with the typed error and -3896.
    let mut bad = sell.clone();
    bad["payments"] = json!([{"type": 1, "sum": 10.02}]);
    let r = c.register_document("R2", &bad).await.unwrap();
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["error"]["atol_code"], -3896);
    assert_eq!(r.body["error"]["fiscal_error"]["error"], "non_cash_exceeds_total");
    // ATOL-88 step 1 over HTTP.
    assert_eq!(c.inject_fault("R2", 1, -20).await.unwrap().status, StatusCode::OK);
    assert_eq!(c.register_document("R2", &sell).await.unwrap().body["error"]["atol_code"], -20);
    // Reads.
    let r = c.register("R2").await.unwrap();
    assert_eq!(r.body["state"]["last_fiscal_number"], 2);
    assert_eq!(r.body["identity"]["inn"], "7701234567");
    let j = c.journal("R2", 1, 10).await.unwrap();
    assert_eq!(j.body.as_array().unwrap().len(), 1);
    assert_eq!(j.body[0]["kind"], "receipt");
    assert_eq!(c.register("none").await.unwrap().status, StatusCode::NOT_FOUND);
    assert_eq!(c.register_document("none", &sell).await.unwrap().status, StatusCode::NOT_FOUND);
    let r = c.register_document("R2", &json!({"type": "teleport"})).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = c.send(c.request(reqwest::Method::GET, "/api/registers/R2").bearer_auth("wrong-token-000000")).await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let v = c.verify_journal().await.unwrap();
    assert_eq!((v.body["registers"].as_u64(), v.body["problem"].is_null()), (Some(1), true));
    let _ = ADMIN_TOKEN;
    app.stop().await;
}

#[tokio::test]
async fn engine_on_postgres_serialises_one_register_across_connections() {
    let mut config = test_config();
    config.fiscal.uplink = false;
    let Some(app) = spawn_app_pg(config).await else { return skip_pg("engine_on_postgres_serialises_one_register_across_connections") };
    app.client.put_tenant("shop", &tenant()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let core = app.core.clone();
        tasks.push(tokio::spawn(async move {
            core.fiscal().receipt("R1", receipt(Operation::Sell, 100 + i, vec![cash(100 + i)])).await.unwrap()
        }));
    }
    let mut numbers: Vec<u64> = Vec::new();
    for t in tasks {
        numbers.extend(t.await.unwrap().iter().filter(|d| d.kind == "receipt").map(|d| d.number));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=25).collect::<Vec<_>>());
    let report = app.core.fiscal().verify().await.unwrap();
    assert_eq!((report.entries, report.problem), (25, None));
    // `kassa journal verify --database-url` checks the same store.
    let url = app.pg.as_ref().unwrap().url.clone();
    let out = std::process::Command::new(BIN).args(["journal", "verify", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 register(s), 25 entries"), "{}", String::from_utf8_lossy(&out.stdout));
    app.stop().await;
}

#[tokio::test]
async fn server_runs_the_uplink_and_starts_the_simulator_in_the_configured_mode() {
    // The configured mode holds documents back (ITK-98 unsent count); switching it to `up` over
    // the admin API lets the server's own uplink worker deliver them (CORE-96).
    let mut config = test_config();
    config.fiscal.ofd_mode = "unreachable".into();
    config.fiscal.uplink_idle_ms = 20;
    let app = spawn_app_with(config).await;
    app.client.put_tenant("shop", &tenant()).await.unwrap();
    app.core.fiscal().receipt("R1", receipt(Operation::Sell, 100, vec![cash(100)])).await.unwrap();
    assert_eq!(app.client.ofd().await.unwrap().body["mode"], "unreachable");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(app.client.register("R1").await.unwrap().body["unsent"]["count"], 2);
    app.client.set_ofd_mode(&json!({"mode": "up"})).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let r = app.client.register("R1").await.unwrap();
        if r.body["unsent"]["count"] == 0 {
            assert!(r.body["unsent"]["first_number"].is_null());
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "uplink did not deliver: {}", r.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    app.stop().await;
}

/// Runs `kassa journal verify --data-dir DIR`; returns (success, stdout).
fn verify_cli(dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(BIN)
        .args(["journal", "verify", "--data-dir"])
        .arg(dir)
        .env_remove("KASSA_DATABASE_URL")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn journal_verify_cli_catches_one_altered_byte() {
    // CORE-80 (engine side): journal records are never modified except for the delivered flag, so
    // any other change is caught by the chain.
    let app = app().await;
    let e = app.core.fiscal();
    for minor in [100, 250, 399] {
        e.receipt("R1", receipt(Operation::Sell, minor, vec![cash(minor)])).await.unwrap();
    }
    e.execute("R2", Command::Ru(ru::Command::CashIn { sum: Money::from_minor(5_000) })).await.unwrap();
    // Stop the server but keep its folder.
    let mut app = app;
    let tmp = app.data_dir.take().unwrap();
    app.stop().await;
    let data_dir = tmp.path().to_owned();
    let dir = data_dir.clone();
    let (ok, out) = verify_cli(&data_dir);
    assert!(ok, "{out}");
    assert!(out.contains("2 register(s), 6 entries"), "{out}");

    // Alter one byte of one stored document: the total "2.50" of receipt 3 becomes "2.51".
    let db = rusqlite::Connection::open(dir.join(kassa::DB_FILE)).unwrap();
    let doc: String = db.query_row("SELECT doc FROM fiscal_journal WHERE register_id = 'R1' AND seq = 3", [], |r| r.get(0)).unwrap();
    let pos = doc.find("\"total\":2.50").expect("total in doc") + "\"total\":2.5".len();
    let mut bytes = doc.into_bytes();
    bytes[pos] = b'1';
    let tampered = String::from_utf8(bytes).unwrap();
    db.execute("UPDATE fiscal_journal SET doc = ?1 WHERE register_id = 'R1' AND seq = 3", [&tampered]).unwrap();
    drop(db);
    let (ok, out) = verify_cli(&data_dir);
    assert!(!ok, "a tampered journal must fail: {out}");
    assert!(out.contains("register R1 entry 3 (document 3): entry hash does not match its content"), "{out}");

    // Restore it, then break the chain's bookkeeping instead: one byte of a stored hash.
    let db = rusqlite::Connection::open(dir.join(kassa::DB_FILE)).unwrap();
    let fixed = tampered.replacen("\"total\":2.51", "\"total\":2.50", 1);
    db.execute("UPDATE fiscal_journal SET doc = ?1 WHERE register_id = 'R1' AND seq = 3", [&fixed]).unwrap();
    assert!(verify_cli(&data_dir).0);
    db.execute("UPDATE fiscal_journal SET total_minor = 251 WHERE register_id = 'R1' AND seq = 3", []).unwrap();
    let (ok, out) = verify_cli(&data_dir);
    assert!(!ok && out.contains("register R1 entry 3 (document 3): indexed columns differ"), "{out}");
    db.execute("UPDATE fiscal_journal SET total_minor = 250 WHERE register_id = 'R1' AND seq = 3", []).unwrap();
    // Counters that no longer equal the sum of the journal are caught too.
    let state: String = db.query_row("SELECT state FROM fiscal_registers WHERE register_id = 'R2'", [], |r| r.get(0)).unwrap();
    let bad = state.replacen("\"cash\":50.00", "\"cash\":50.01", 1);
    assert_ne!(bad, state);
    db.execute("UPDATE fiscal_registers SET state = ?1 WHERE register_id = 'R2'", [&bad]).unwrap();
    let (ok, out) = verify_cli(&data_dir);
    assert!(!ok && out.contains("register R2 entry 0: cash of the register differs from the sum of its journal"), "{out}");
    drop(tmp);
}
