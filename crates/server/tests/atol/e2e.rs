//! §13.4 / §13.5 vectors that need a register, end to end over the real fiscal engine: the
//! dispatcher (stepped by hand) takes accepted documents to `EngineRegisters`, the engine
//! registers them in its journal, and the report, the callback and the journals must agree.
//!
//! The engine's registers start fresh (shift 1, FN counter 0) rather than at the fixture's
//! shift 23 / FN 132, and the fiscal attribute is the engine's HMAC sign rather than the
//! fixture's generator: those members are checked against the register's journal instead.

use super::*;
use kassa_core::atol::{DispatchReport, DispatchState, EngineRegisters};
use kassa_store::fiscal::JournalEntry;

const R1: &str = "KSR13.00-1-11";
const R2: &str = "KSR13.00-1-12";

struct E2e {
    fx: Fx,
    regs: EngineRegisters,
    state: DispatchState,
}

impl E2e {
    async fn new(uuids: &[&str]) -> Self {
        Self::with(uuids, |_| {}).await
    }

    async fn with(uuids: &[&str], tweak: impl FnOnce(&mut kassa::config::Config)) -> Self {
        Self::build(uuids, tweak, None).await
    }

    /// On a fresh PostgreSQL database, or `None` when `KASSA_TEST_PG_URL` is unset.
    async fn pg(uuids: &[&str]) -> Option<Self> {
        let pg = common::FreshPg::create().await?;
        Some(Self::build(uuids, |_| {}, Some(pg)).await)
    }

    async fn build(uuids: &[&str], tweak: impl FnOnce(&mut kassa::config::Config), pg: Option<common::FreshPg>) -> Self {
        let mut config = common::test_config();
        if let Some(p) = &pg {
            config.server.database_url = Some(p.url.clone());
        }
        config.server.demo = true;
        config.atol.workers = false;
        config.tenants.push(other_tenant());
        tweak(&mut config);
        let dir = tempfile::tempdir().unwrap();
        config.server.data_dir = dir.path().to_owned();
        let clock = Arc::new(ManualClock::new(Fx::t0()));
        let ids = Arc::new(SequenceIds::new(uuids, &[A, B]));
        let app = Application::build_with(config, clock.clone(), ids).await.unwrap();
        let client = Kassa::new(format!("http://{}", app.addr())).with_admin_token(app.admin_token());
        let core = app.core().clone();
        let stop = app.shutdown_token();
        let handle = tokio::spawn(app.run_until_stopped());
        let fx = Fx { client, core: core.clone(), clock, stop, handle: Some(handle), _dir: Some(dir), _pg: pg };
        fx.token().await;
        Self { fx, regs: EngineRegisters::new(core), state: DispatchState::default() }
    }

    /// One dispatcher step (the worker's `run_once`).
    async fn step(&mut self) -> DispatchReport {
        self.fx.core.atol().dispatch_once(&self.regs, &mut self.state).await.unwrap()
    }

    async fn receipts(&self, register: &str) -> Vec<JournalEntry> {
        let j = self.fx.core.fiscal().journal(register, 0, 1000).await.unwrap();
        j.into_iter().filter(|e| e.kind == "receipt" || e.kind == "correction").collect()
    }

    /// Applies the demo tenant changed by `f` (provisioning is declarative).
    async fn provision(&self, f: impl FnOnce(&mut TenantSpec)) {
        let mut t = kassa_core::demo::tenant();
        f(&mut t);
        self.fx.core.provisioning().apply(&t).await.unwrap();
    }
}

fn sell_ext(ext: &str) -> Value {
    with(s(), "/external_id", Some(json!(ext)))
}

/// The payload the journal entry stands for (ATOL-86, ATOL-89).
fn payload_from(e: &JournalEntry, fn_number: &str, reg: &str) -> Value {
    json!({"total": num(&kassa_domain::atol::report::amount_text(e.total)), "fns_site": "www.nalog.ru", "fn_number": fn_number,
        "shift_number": e.shift_number, "receipt_datetime": kassa_domain::atol::time::format_local(e.time_ms / 60_000 * 60_000, MOSCOW_OFFSET_SECS),
        "fiscal_receipt_number": e.receipt_number.unwrap(), "fiscal_document_number": e.number,
        "ecr_registration_number": reg, "fiscal_document_attribute": e.fiscal_sign})
}

#[tokio::test]
async fn tv21_sell_is_registered_and_reported_done() {
    // ATOL-82, ATOL-86, ATOL-89, ATOL-93, ATOL-94 (done), ATOL-22 (u32 attribute), ATOL-7
    let mut e = E2e::new(&[U1]).await;
    e.fx.at(8 * H - 10_000); // 17:59:50, so the document is not timed out at 18:00:05
    e.fx.sell(&s()).await;
    e.fx.at(8 * H + 5_000); // R1 registers it at 29.05.2017 18:00:05
    let rep = e.step().await;
    assert_eq!((rep.attempts, rep.done), (1, 1));
    let j = e.receipts(R1).await;
    assert_eq!(j.len(), 1, "one receipt on R1");
    let entry = &j[0];
    assert_eq!((entry.shift_number, entry.receipt_number, entry.number), (1, Some(1), 2), "shift opening is FN document 1");
    let expected = json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "done", "error": null,
        "payload": {"total": 7612, "fns_site": "www.nalog.ru", "fn_number": "1110000100238211", "shift_number": 1,
                    "receipt_datetime": "29.05.2017 18:00:00", "fiscal_receipt_number": 1, "fiscal_document_number": 2,
                    "ecr_registration_number": "0000111118041361", "fiscal_document_attribute": entry.fiscal_sign},
        "group_code": GROUP, "daemon_code": "prod-agent-1", "device_code": R1, "callback_url": "http://testtest"});
    assert_eq!(expected["payload"], payload_from(entry, "1110000100238211", "0000111118041361"));
    let r = e.fx.report(U1).await;
    assert_report_shape(&r);
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, expected.clone()));
    let r = e.fx.report(&U1.to_uppercase()).await;
    assert_eq!(r.body, expected);
    // ATOL-85: final; another step registers nothing.
    assert_eq!(e.step().await.attempts, 0);
    assert_eq!(e.receipts(R1).await.len(), 1);
    assert!(e.fx.core.fiscal().verify().await.unwrap().problem.is_none());
    e.fx.stop().await;
}

#[tokio::test]
async fn tv18_corrections_and_all_six_operations_are_registered() {
    // ATOL-46, ATOL-63, ATOL-86 (payload.total of a correction = payments sum), ATOL-47
    let uuids: Vec<String> = (0..6).map(|i| format!("00000000-0000-4000-8000-00000000000{i}")).collect();
    let refs: Vec<&str> = uuids.iter().map(String::as_str).collect();
    let mut e = E2e::new(&refs).await;
    let corr = e.fx.client.atol_register(GROUP, "sell_correction", A, &c()).await.unwrap();
    assert_eq!(corr.body["uuid"], json!(uuids[0]));
    // A sell first, so the refunds and buys have cash to pay out where cash is used.
    for (i, op) in ["sell", "sell_refund", "buy", "buy_refund"].into_iter().enumerate() {
        let r = e.fx.client.atol_register(GROUP, op, A, &sell_ext(&format!("op-{i}"))).await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{op}: {}", r.body);
    }
    let r = e.fx.client.atol_register(GROUP, "buy_correction", A, &with(c(), "/external_id", Some(json!("corr-2")))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..6 {
        e.step().await;
    }
    let r = e.fx.report(&uuids[0]).await;
    assert_eq!((r.body["status"].clone(), r.body["payload"]["total"].clone()), (json!("done"), num("1500.5")), "TV-18");
    for u in &uuids {
        let r = e.fx.report(u).await;
        assert_eq!(r.body["status"], json!("done"), "{u}: {}", r.body);
    }
    let j = e.receipts(R1).await;
    let kinds: Vec<&str> = j.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["correction", "receipt", "receipt", "receipt", "receipt", "correction"]);
    let ops: Vec<String> = j
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.doc).unwrap()["body"]["operation"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ops, ["sell", "sell", "sell_refund", "buy", "buy_refund", "buy"]);
    assert_eq!(j[0].total.minor(), 150_050);
    e.fx.stop().await;
}

#[tokio::test]
async fn tv22_other_inn_fails_with_agent_error_2() {
    // ATOL-87, ATOL-88 step 2, ATOL-84 (class F), ATOL-101, ATOL-75
    let mut e = E2e::new(&[U1, U2]).await;
    e.fx.sell(&with(s(), "/service/inn", Some(json!("3311226677")))).await;
    e.step().await;
    let expected = json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "fail",
        "error": {"code": 2, "text": "Документ не может быть обработан данной ККТ, так как она зарегистрирована с другим ИНН или адресом расчёта", "type": "agent"},
        "payload": null, "group_code": GROUP, "daemon_code": "prod-agent-1", "device_code": R1, "callback_url": "http://testtest"});
    let r = e.fx.report(U1).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, expected));
    assert!(e.receipts(R1).await.is_empty(), "nothing registered");
    let r = e.fx.sell(&with(s(), "/service/inn", Some(json!("3311226677")))).await;
    assert_eq!((err(&r).0, r.body["uuid"].clone()), (10, json!(U1)));
    // Another payment address is the same error.
    let r = e.fx.sell(&with(sell_ext("addr"), "/service/payment_address", Some(json!("other.ru")))).await;
    e.step().await;
    let rep = e.fx.report(r.body["uuid"].as_str().unwrap()).await;
    assert_eq!((rep.body["status"].clone(), err(&rep).0), (json!("fail"), 2));
    let r = e.fx.sell(&sell_ext("good-inn")).await;
    e.step().await;
    assert_eq!(e.fx.report(r.body["uuid"].as_str().unwrap()).await.body["status"], json!("done"));
    e.fx.stop().await;
}

#[tokio::test]
async fn tv23_device_model_errors_fail_without_retry() {
    // ATOL-88 steps 3–8, ATOL-84 (class F: failed at once), ATOL-101, ATOL-83
    let mut e = E2e::new(&[]).await;
    let cases: Vec<(Value, i64, &str)> = vec![
        (with(s(), "/receipt/items/0/price", Some(json!(0))), -3805, "Нулевая цена"),
        (with(s(), "/receipt/items/0/quantity", Some(json!(0))), -3804, "Неверное количество"),
        (with(s(), "/receipt/items/0/tax_sum", Some(num("5000.01"))), -3969, "Сумма налога больше суммы регистраций по чеку и/или итога"),
        (with(s(), "/receipt/payments/0/sum", Some(json!(7000))), -3897, "Чек оплачен не полностью"),
        (with(s(), "/receipt/payments/0/sum", Some(json!(8000))), -3896, "Сумма не наличных оплат превышает сумму чека"),
        (with(s(), "/receipt/attributes/sno", Some(json!("usn_income"))), -4021, "Некорректная СНО"),
    ];
    let mut uuids = Vec::new();
    for (i, (v, code, text)) in cases.iter().enumerate() {
        let r = e.fx.sell(&with(v.clone(), "/external_id", Some(json!(format!("tv23-{i}"))))).await;
        assert_eq!(r.status, StatusCode::OK, "accepted at registration: {}", r.body);
        uuids.push((r.body["uuid"].as_str().unwrap().to_owned(), *code, *text));
    }
    for _ in 0..cases.len() {
        e.step().await;
    }
    for (u, code, text) in &uuids {
        let r = e.fx.report(u).await;
        assert_eq!(
            (r.status, r.body["status"].clone(), r.body["error"].clone(), r.body["daemon_code"].clone(), r.body["device_code"].clone()),
            (StatusCode::OK, json!("fail"), json!({"code": code, "text": text, "type": "driver"}), json!("prod-agent-1"), json!(R1)),
            "{code}"
        );
    }
    assert_eq!(e.step().await.attempts, 0, "no retry");
    assert!(e.receipts(R1).await.is_empty());
    // Controls: a cash overpayment is allowed; no sno with the group set {osn} is allowed.
    let over = e.fx.sell(&with(sell_ext("cash-over"), "/receipt/payments/0", Some(json!({"type": 0, "sum": 8000})))).await;
    let nosno = e.fx.sell(&with(sell_ext("no-sno"), "/receipt/attributes/sno", None)).await;
    e.step().await;
    e.step().await;
    for r in [over, nosno] {
        assert_eq!(e.fx.report(r.body["uuid"].as_str().unwrap()).await.body["status"], json!("done"));
    }
    // Without sno while the group has {osn, usn_income} → -4021.
    e.provision(|t| t.groups[0].sno = vec!["osn".into(), "usn_income".into()]).await;
    let r = e.fx.sell(&with(sell_ext("no-sno-2"), "/receipt/attributes/sno", None)).await;
    e.step().await;
    let rep = e.fx.report(r.body["uuid"].as_str().unwrap()).await;
    assert_eq!((rep.body["status"].clone(), err(&rep)), (json!("fail"), (-4021, "Некорректная СНО".into(), "driver".into())));
    e.fx.stop().await;
}

#[tokio::test]
async fn tv24_retry_after_a_link_error_uses_no_numbers() {
    // ATOL-84 (class R), ATOL-83 (wait with the last KKT error), ATOL-88 step 1, ATOL-76 (done only)
    let mut e = E2e::new(&[U1]).await;
    let (url, got) = receiver(200).await;
    e.fx.core.fiscal().inject_fault(R1, 1, -20);
    e.fx.sell(&with(s(), "/service/callback_url", Some(json!(url)))).await;
    e.step().await;
    let r = e.fx.report(U1).await;
    assert_eq!(
        (r.body["status"].clone(), r.body["error"].clone(), r.body["payload"].clone(), r.body["daemon_code"].clone(), r.body["device_code"].clone()),
        (json!("wait"), json!({"code": -20, "text": "Нет ответа от устройства", "type": "driver"}), Value::Null, json!("prod-agent-1"), json!(R1))
    );
    use kassa_workers::{Worker, atol::AtolCallbacks};
    let mut cb = AtolCallbacks::new(e.fx.core.clone());
    cb.run_once().await.unwrap();
    assert_eq!(got.lock().unwrap().len(), 0, "no callback while waiting");
    e.step().await;
    let r = e.fx.report(U1).await;
    assert_eq!(r.body["status"], json!("done"));
    assert_eq!((r.body["payload"]["fiscal_receipt_number"].clone(), r.body["payload"]["fiscal_document_number"].clone()), (json!(1), json!(2)));
    cb.run_once().await.unwrap();
    e.fx.clock.advance_ms(200_000);
    cb.run_once().await.unwrap();
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one callback, for done");
    assert_eq!(got[0].1, r.body);
    e.fx.stop().await;
}

#[tokio::test]
async fn tv25_retries_are_bounded_and_class_f_is_final() {
    // ATOL-84 (MAX_ATTEMPTS 3, class F at once), ATOL-83, ATOL-85, ATOL-101
    let mut e = E2e::new(&[U1, U2]).await;
    e.fx.core.fiscal().inject_fault(R1, 3, -20);
    e.fx.sell(&s()).await;
    for attempt in 1..=3 {
        e.step().await;
        let r = e.fx.report(U1).await;
        let status = if attempt < 3 { "wait" } else { "fail" };
        assert_eq!((r.body["status"].clone(), err(&r).0), (json!(status), -20), "attempt {attempt}");
    }
    assert_eq!(e.step().await.attempts, 0);
    e.fx.core.fiscal().inject_fault(R1, 1, -3816);
    e.fx.sell(&sell_ext("tv25-f")).await;
    let rep = e.step().await;
    assert_eq!((rep.attempts, rep.failed), (1, 1));
    let r = e.fx.report(U2).await;
    assert_eq!((r.body["status"].clone(), err(&r)), (json!("fail"), (-3816, "Неверный вид оплаты".into(), "driver".into())));
    assert_eq!(e.step().await.attempts, 0, "no second attempt");
    assert!(e.receipts(R1).await.is_empty());
    e.fx.stop().await;
}

#[tokio::test]
async fn tv29_done_document_calls_back_once_with_the_report() {
    // ATOL-76, ATOL-77, ATOL-78
    use kassa_workers::{Worker, atol::AtolCallbacks};
    let mut e = E2e::new(&[U1]).await;
    let (url, got) = receiver(200).await;
    e.fx.sell(&with(s(), "/service/callback_url", Some(json!(url)))).await;
    e.step().await;
    let mut cb = AtolCallbacks::new(e.fx.core.clone());
    cb.run_once().await.unwrap();
    e.fx.clock.advance_ms(200_000);
    cb.run_once().await.unwrap();
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "application/json; charset=utf-8");
    let report = e.fx.report(U1).await;
    assert_eq!(report.body["status"], json!("done"));
    assert_eq!(got[0].1, report.body, "the callback is the done report, member for member");
    e.fx.stop().await;
}

#[tokio::test]
async fn tv31_even_load_prefers_the_register_with_fewer_fn_documents() {
    // ATOL-7 (even load over main registers by FN documents), ATOL-82
    let mut e = E2e::new(&[U1]).await;
    e.provision(|t| t.registers[1].role = RegisterRole::Main).await;
    // R1's FN already holds more documents than R2's.
    for _ in 0..3 {
        e.fx.core.fiscal().x_report(R1).await.unwrap();
        e.fx.core.fiscal().open_shift(R1, None).await.unwrap();
        e.fx.core.fiscal().close_shift(R1, None).await.unwrap();
    }
    e.fx.sell(&s()).await;
    e.step().await;
    let r = e.fx.report(U1).await;
    assert_eq!(r.body["device_code"], json!(R2));
    let p = &r.body["payload"];
    assert_eq!(
        (p["fiscal_document_number"].clone(), p["shift_number"].clone(), p["fiscal_receipt_number"].clone(), p["fn_number"].clone(), p["ecr_registration_number"].clone()),
        (json!(2), json!(1), json!(1), json!("1110000100238212"), json!("0000111118041362"))
    );
    // Many documents over the two mains.
    for i in 0..20 {
        e.fx.sell(&sell_ext(&format!("even-{i}"))).await;
    }
    while e.step().await.attempts > 0 {}
    // Both idle mains take a document at every step (ATOL-7), the emptier FN first.
    let (a, b) = (e.receipts(R1).await.len(), e.receipts(R2).await.len());
    assert_eq!(a + b, 21);
    assert!(a >= 9 && b >= a, "both mains share the load: R1 {a}, R2 {b}");
    e.fx.stop().await;
}

#[tokio::test]
async fn tv32_reserve_is_attached_past_the_threshold() {
    // ATOL-10 (D-5), ATOL-7, ATOL-82
    let mut e = E2e::with(&[U1, U2, U3], |c| c.atol.queue_threshold = 2).await;
    e.fx.core.atol.pause_register(R1, true);
    for i in 0..3 {
        e.fx.sell(&sell_ext(&format!("tv32-{i}"))).await;
    }
    for _ in 0..3 {
        e.step().await;
    }
    let mut on_r2 = 0;
    for u in [U1, U2, U3] {
        let r = e.fx.report(u).await;
        if r.body["status"] == json!("done") {
            assert_eq!(r.body["device_code"], json!(R2));
            on_r2 += 1;
        }
    }
    assert!(on_r2 >= 1, "a document done on the reserve");
    assert!(e.receipts(R1).await.is_empty(), "the paused register took nothing");
    e.fx.stop().await;
}

#[tokio::test]
async fn tv20_paused_register_leaves_the_document_waiting() {
    // ATOL-94 (queued → wait/16), ATOL-82 (only registers that take documents)
    let mut e = E2e::new(&[U1]).await;
    e.fx.core.atol.pause_register(R1, true);
    e.fx.sell(&s()).await;
    assert_eq!(e.step().await.attempts, 0);
    let r = e.fx.report(U1).await;
    assert_eq!((r.body["status"].clone(), err(&r).0, r.body["device_code"].clone()), (json!("wait"), 16, json!("")));
    e.fx.core.atol.pause_register(R1, false);
    e.step().await;
    assert_eq!(e.fx.report(U1).await.body["status"], json!("done"));
    e.fx.stop().await;
}

#[tokio::test]
async fn engine_registers_once_per_uuid_when_asked_again() {
    // The port's contract (ATOL-85, ATOL-86): a second call for a fiscalized uuid returns the
    // same payload and registers nothing, on the same or another register of the tenant.
    use kassa_core::atol::{AcceptedDocument, AtolRegisters};
    use kassa_domain::atol::validate::{Operation, validate};
    let e = E2e::new(&[]).await;
    let body = s().to_string();
    let doc = validate(Operation::Sell, &kassa_domain::atol::json::parse(body.as_bytes()).unwrap()).unwrap();
    let group = e.fx.core.store.tenant("demo").await.unwrap().unwrap().groups.into_iter().find(|g| g.code == GROUP).unwrap();
    let acc = AcceptedDocument { uuid: U1.into(), tenant_id: "demo".into(), group_code: GROUP.into(), document: doc, attempt: 1 };
    let first = e.regs.register(R1, &group, &acc).await.unwrap();
    let again = e.regs.register(R1, &group, &acc).await.unwrap();
    let elsewhere = e.regs.register(R2, &group, &acc).await.unwrap();
    assert_eq!((&again, &elsewhere), (&first, &first));
    assert_eq!(e.receipts(R1).await.len(), 1);
    assert!(e.receipts(R2).await.is_empty());
    assert_eq!(e.regs.fn_documents(R1).await, 2);
    e.fx.stop().await;
}

#[tokio::test]
async fn burst_is_registered_at_the_groups_full_rate() {
    // ATOL-8 (the queue buffers a burst; every register of the group keeps taking documents at
    // each step until it is empty), ATOL-7, ATOL-85. The rate itself: `kassa bench atol-e2e`.
    let mut e = E2e::new(&[]).await;
    e.provision(|t| t.registers[1].role = RegisterRole::Main).await;
    e.state = DispatchState::with_batch(32);
    for i in 0..100 {
        let r = e.fx.sell(&sell_ext(&format!("burst-{i}"))).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let first = e.step().await;
    assert_eq!((first.attempts, first.done), (64, 64), "both registers take a full batch");
    let second = e.step().await;
    assert_eq!((second.attempts, second.done), (36, 36), "the rest at the next step");
    assert_eq!(e.step().await.attempts, 0, "the queue is empty");
    let (a, b) = (e.receipts(R1).await, e.receipts(R2).await);
    assert_eq!((a.len(), b.len()), (50, 50), "even load");
    for j in [&a, &b] {
        // One shift opening, then the receipts numbered without gaps.
        let numbers: Vec<u64> = j.iter().map(|e| e.number).collect();
        assert_eq!(numbers, (2..=51).collect::<Vec<u64>>());
    }
    assert!(e.fx.core.fiscal().verify().await.unwrap().problem.is_none());
    e.fx.stop().await;
}

#[tokio::test]
async fn done_end_to_end_on_postgres() {
    // ATOL-82, ATOL-86, ATOL-84, ATOL-85 on the PostgreSQL store (keyed registration, FOR UPDATE)
    let Some(mut e) = E2e::pg(&[U1, U2]).await else {
        eprintln!("SKIPPED: KASSA_TEST_PG_URL not set");
        return;
    };
    e.fx.core.fiscal().inject_fault(R1, 1, -20);
    e.fx.sell(&s()).await;
    e.step().await;
    assert_eq!(e.fx.report(U1).await.body["status"], json!("wait"));
    e.step().await;
    let r = e.fx.report(U1).await;
    let j = e.receipts(R1).await;
    assert_eq!(j.len(), 1);
    assert_eq!((r.body["status"].clone(), r.body["payload"].clone()), (json!("done"), payload_from(&j[0], "1110000100238211", "0000111118041361")));
    let r = e.fx.sell(&with(sell_ext("pg-2"), "/receipt/items/0/price", Some(json!(0)))).await;
    e.step().await;
    assert_eq!(err(&e.fx.report(r.body["uuid"].as_str().unwrap()).await).0, -3805);
    assert!(e.fx.core.fiscal().verify().await.unwrap().problem.is_none());
    e.fx.stop().await;
}

#[tokio::test]
async fn class_r_retry_goes_to_another_active_register() {
    // ATOL-84 (class R: tried again on another active register if there is one), ATOL-86
    // (device_code of the register that registered it), ATOL-7
    let mut e = E2e::new(&[U1]).await;
    e.provision(|t| t.registers[1].role = RegisterRole::Main).await;
    e.fx.core.fiscal().inject_fault(R1, 1, -1);
    e.fx.sell(&s()).await;
    e.step().await;
    let r = e.fx.report(U1).await;
    assert_eq!((r.body["status"].clone(), err(&r).0, r.body["device_code"].clone()), (json!("wait"), -1, json!(R1)));
    e.step().await;
    let r = e.fx.report(U1).await;
    assert_eq!((r.body["status"].clone(), r.body["device_code"].clone()), (json!("done"), json!(R2)));
    assert_eq!(r.body["payload"]["fn_number"], json!("1110000100238212"));
    assert!(e.receipts(R1).await.is_empty());
    assert_eq!(e.receipts(R2).await.len(), 1);
    e.fx.stop().await;
}

#[tokio::test]
async fn one_account_with_two_legal_entities_and_their_shops() {
    // ATOL-1 (client → legal entities → shops: the tenant is the account, each group a shop of a
    // legal entity with its own INN), ATOL-2, ATOL-87 (each shop's documents are checked against
    // its own entity's INN), ATOL-82 (a group's documents go only to its own registers)
    let mut e = E2e::new(&[U1, U2, U3]).await;
    const SHOP2: &str = "SecondEntity_Shop";
    e.provision(|t| {
        t.groups.push(GroupSpec { code: SHOP2.into(), inn: "7701234567".into(), payment_address: "shop2.ru".into(), sno: vec!["usn_income".into()] });
        t.atol_logins[0].groups.push(SHOP2.into());
        t.registers.push(RegisterSpec {
            id: "KSR-SHOP2-1".into(),
            profile: RegisterProfile::Ru,
            group: Some(SHOP2.into()),
            role: RegisterRole::Main,
            fn_number: Some("1110000100239999".into()),
            reg_number: Some("0000111118049999".into()),
            ofd_id: None,
        });
    })
    .await;
    let shop2 = |ext: &str, inn: &str| {
        let v = with(with(sell_ext(ext), "/service/inn", Some(json!(inn))), "/service/payment_address", Some(json!("shop2.ru")));
        with(v, "/receipt/attributes/sno", Some(json!("usn_income")))
    };
    let a = e.fx.client.atol_register(SHOP2, "sell", A, &shop2("e2-1", "7701234567")).await.unwrap();
    let b = e.fx.client.atol_register(SHOP2, "sell", A, &shop2("e2-2", "331122667723")).await.unwrap();
    e.fx.sell(&sell_ext("e1-1")).await;
    for _ in 0..3 {
        e.step().await;
    }
    let ra = e.fx.client.atol_report(SHOP2, a.body["uuid"].as_str().unwrap(), A).await.unwrap();
    assert_eq!((ra.body["status"].clone(), ra.body["device_code"].clone()), (json!("done"), json!("KSR-SHOP2-1")));
    let rb = e.fx.client.atol_report(SHOP2, b.body["uuid"].as_str().unwrap(), A).await.unwrap();
    assert_eq!((rb.body["status"].clone(), err(&rb).0), (json!("fail"), 2), "the first entity's INN is not the second's");
    let r1 = e.fx.report(U3).await;
    assert_eq!((r1.body["status"].clone(), r1.body["device_code"].clone()), (json!("done"), json!(R1)));
    assert_eq!(e.receipts("KSR-SHOP2-1").await.len(), 1);
    assert_eq!(e.receipts(R1).await.len(), 1);
    e.fx.stop().await;
}
