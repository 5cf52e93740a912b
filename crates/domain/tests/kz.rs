//! Test vectors of cash-core.md §14 that are pure fiscal logic, run through the public API of
//! `kassa_domain::kz` (prepare/finish/execute, operation_result, recompute_report). The seed's
//! JSON examples are compared in full; lists whose order is not normative (CORE-87) are compared
//! as sets keyed by `operation`/`payment`/`percent`, as §14 prescribes.

use kassa_domain::kz::{
    self, Body, Caller, Command, CommandType, Document, Execution, KkmConfig, KkmState, KzError, LifetimeCounts, LocalDateTime,
    MoneyPlacementRequest, OfdOutcome, RegInfo, ReportRequest, ResultContext, TradeRequest,
};
use kassa_money::Money;
use serde_json::{Value, json};

const TRADE_REQUEST: &str = include_str!("../src/kz/testdata/trade_request.json");
const TRADE_RESPONSE: &str = include_str!("../src/kz/testdata/trade_response.json");
const PLACEMENT_RESPONSE: &str = include_str!("../src/kz/testdata/money_placement_response.json");
const X_RESPONSE: &str = include_str!("../src/kz/testdata/x_report_response.json");

fn at(text: &str) -> LocalDateTime {
    LocalDateTime::parse(text).expect("valid date-time")
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("valid amount")
}

fn reg_info() -> RegInfo {
    serde_json::from_value(json!({
        "org": {"title": "ЧН ГЕОРГИАДИ ЛИЛИЯ ГЕННАДЬЕВНА", "address": "г. Темиртау, Республики / ", "inn": "910812450255", "taxation_type": 0, "okved": "", "tenantId": 1},
        "pos": {"title": "Для Макса", "address": "г. Нур-Султан, р-н Есиль, Республики 1"},
        "kkm": {"point_of_payment_number": "", "terminal_number": "", "fns_kkm_id": "010100134464", "serial_number": "ISCR1018036404743", "kkm_id": "6923"}
    }))
    .unwrap()
}

fn test_config() -> KkmConfig {
    KkmConfig::new("http://consumer.test-oofd.kz")
}

fn admin() -> Caller {
    Caller { code: 1, name: "Administrator".into() }
}

fn asasd() -> Caller {
    Caller { code: 1, name: "asasd".into() }
}

fn trade_request() -> TradeRequest {
    serde_json::from_str(TRADE_REQUEST).unwrap()
}

fn trade(request: TradeRequest) -> Command {
    Command::Trade(request)
}

fn accepted(fiscal_id: &str) -> OfdOutcome {
    OfdOutcome::Accepted { fiscal_id: fiscal_id.into(), qr_code: format!("qr-{fiscal_id}"), ads_info: None }
}

/// Runs a command with an OFD link that always answers `outcome`.
fn run(state: &KkmState, command: &Command, caller: &Caller, now: LocalDateTime, outcome: &OfdOutcome) -> Execution {
    kz::execute(state, command, caller, &test_config(), now, |_| outcome.clone())
}

/// The state after a successful execution.
fn after(state: &KkmState, execution: &Execution) -> KkmState {
    assert_eq!(execution.outcome, Ok(()), "command failed");
    execution.final_state(state).clone()
}

fn error_of(state: &KkmState, command: &Command, now: LocalDateTime, outcome: &OfdOutcome) -> u32 {
    run(state, command, &admin(), now, outcome).outcome.expect_err("command must fail").code()
}

/// Sorts arrays of objects keyed by `operation`/`payment`/`percent` (CORE-87: order not normative).
fn normalize(value: Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(normalize).collect();
            let key = |v: &Value| {
                ["operation", "payment", "percent"].iter().find_map(|k| v.get(*k).map(ToString::to_string)).unwrap_or_default()
            };
            items.sort_by_key(key);
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn response_data(text: &str) -> Value {
    let mut envelope: Value = serde_json::from_str(text).unwrap();
    normalize(envelope["response_data"].take())
}

fn result_json(state: &KkmState, document: &Document, context: &ResultContext) -> Value {
    normalize(serde_json::to_value(kz::operation_result(state, document, context)).unwrap())
}

fn context(local_name: &str, operator: &str, ofd: bool) -> ResultContext {
    ResultContext {
        kkm_local_name: local_name.into(),
        operator_name: operator.into(),
        vat_certificate: kz::VatCertificate::default(),
        ofd_name: if ofd { "Казахтелеком - test".into() } else { String::new() },
        ofd_url: if ofd { "http://consumer.test-oofd.kz".into() } else { String::new() },
    }
}

/// TV-4 pre-state: autonomous (< 72 h), offline number 1007, shift 124 open (< 24 h), document 8.
fn tv4_state() -> KkmState {
    let mut state = KkmState::new(reg_info());
    state.is_offline = true;
    state.offline_start_date = Some(at("2025-01-16T10:00:00"));
    state.offline_ticket_number = 1007;
    state.fr_shift_number = 124;
    state.shift_state = 1;
    state.shift_open_date = Some(at("2025-01-17T09:00:00"));
    state.shift_document_number = 8;
    state.cash_sum = money("100");
    state
}

#[test]
fn tv4_trade_operation_seed_example() {
    // TV-4, CORE-72..76, CORE-95, CORE-98, CORE-100; CORE-36 (every output field emitted, zero
    // modifier for the absent markup) and CORE-76 (response fields) via the full JSON comparison.
    let state = tv4_state();
    let now = at("2025-01-17T13:34:37");
    let execution = run(&state, &trade(trade_request()), &admin(), now, &OfdOutcome::Unreachable);
    let next = after(&state, &execution);
    assert_eq!(execution.committed.len(), 1);
    let document = &execution.committed[0].document;
    let actual = result_json(&next, document, &context("test_6923", "Administrator", true));
    assert_eq!(actual, response_data(TRADE_RESPONSE));
    // State after (CORE-74, CORE-66, CORE-98).
    assert_eq!(next.offline_ticket_number, 1008);
    assert_eq!(next.shift_document_number, 9);
    assert_eq!(next.cash_sum, money("850"));
    assert_eq!(next.revenue, money("1750"));
    assert_eq!(next.non_nullable_sums[2], money("1750"));
    // Journal record (CORE-80, §6.10).
    assert_eq!(document.command, CommandType::Ticket);
    assert_eq!((document.fr_shift_number, document.shift_document_number, document.is_offline), (124, 8, true));
    assert_eq!(
        serde_json::to_value(&document.list_body).unwrap(),
        json!({"operation":2,"payments":[0,1],"sum":1750,"fiscal_id":"1008"})
    );
    assert_eq!(document.date, now);
}

#[test]
fn tv20_legacy_item_form() {
    // TV-20, CORE-69: a separate type 5 item attaches to the preceding commodity.
    let mut request = trade_request();
    let discount = request.items[0].discount.take();
    request.items.push(kz::command::ItemRequest { kind: 5, commodity: None, markup: None, discount });
    let state = tv4_state();
    let now = at("2025-01-17T13:34:37");
    let execution = run(&state, &trade(request.clone()), &admin(), now, &OfdOutcome::Unreachable);
    let next = after(&state, &execution);
    let actual = result_json(&next, &execution.committed[0].document, &context("test_6923", "Administrator", true));
    assert_eq!(actual, response_data(TRADE_RESPONSE));
    // A type 5 item without `discount` → 48; a type 3 item without `markup` → 49.
    request.items[1].discount = None;
    assert_eq!(error_of(&state, &trade(request.clone()), now, &OfdOutcome::Unreachable), 48);
    request.items[1].kind = 3;
    assert_eq!(error_of(&state, &trade(request), now, &OfdOutcome::Unreachable), 49);
}

/// The shift-121 history of TV-6/TV-7: before the TV-4 sale opened it as document 1.
fn shift_121_start() -> KkmState {
    let mut state = KkmState::new(reg_info());
    state.fr_shift_number = 121;
    let start = [money("1753"), money("123"), money("727986.98"), money("31276")];
    state.non_nullable_sums = start;
    state.start_shift_non_nullable_sums = start;
    // All-time counts before the shift: the sale of this shift makes SELL 422; the deposit 127.
    state.totals = LifetimeCounts { tickets: [14, 1, 421, 33], money_placements: [126, 232] };
    state
}

/// Replays shift 121 up to TV-6 (sale at 21:17:55 as document 1, deposit at 21:31:43 as 2).
fn shift_121_after_tv6() -> (KkmState, Vec<Document>, Document) {
    let mut state = shift_121_start();
    let mut journal = Vec::new();
    let sale = run(&state, &trade(trade_request()), &asasd(), at("2025-01-14T21:17:55"), &accepted("901"));
    state = after(&state, &sale);
    journal.extend(sale.committed.into_iter().map(|f| f.document));
    assert_eq!(state.cash_sum, money("750"));
    let deposit = Command::MoneyPlacement(MoneyPlacementRequest { operation: 0, sum: money("1000") });
    let placed = run(&state, &deposit, &asasd(), at("2025-01-14T21:31:43"), &accepted("x"));
    state = after(&state, &placed);
    let document = placed.committed[0].document.clone();
    journal.push(document.clone());
    (state, journal, document)
}

#[test]
fn tv6_money_placement_deposit() {
    // TV-6, CORE-78, CORE-66: document (121, 2), printed_document_number 2.
    let (state, _, document) = shift_121_after_tv6();
    let actual = result_json(&state, &document, &context("Test_6923", "asasd", false));
    assert_eq!(actual, response_data(PLACEMENT_RESPONSE));
    assert_eq!(state.cash_sum, money("1750"));
    assert_eq!(state.shift_document_number, 3);
    // Revenue and non-nullable sums unchanged by the placement.
    assert_eq!(state.revenue, money("1750"));
    assert_eq!(serde_json::to_value(&document.list_body).unwrap(), json!({"operation":0,"sum":1000}));
}

/// TV-7 pre-state: TV-6 plus an earlier X report as document 3.
fn tv7_state() -> (KkmState, Vec<Document>) {
    let (mut state, mut journal, _) = shift_121_after_tv6();
    let x = Command::Report(ReportRequest { report_type: 1 });
    let first = run(&state, &x, &asasd(), at("2025-01-14T21:35:00"), &accepted("x"));
    state = after(&state, &first);
    journal.extend(first.committed.into_iter().map(|f| f.document));
    (state, journal)
}

#[test]
fn tv7_x_report_seed_example() {
    // TV-7, CORE-83..89, CORE-91: the §7.13 response. CORE-85 (counts 1/1/2, sums 2000/1750/250)
    // and CORE-77 (1750 × 12/112 = 187.50 stored as given, net 1562.50) are part of that body.
    let (state, mut journal) = tv7_state();
    assert_eq!(state.shift_document_number, 4);
    let now = at("2025-01-14T21:39:21");
    let x = Command::Report(ReportRequest { report_type: 1 });
    let execution = run(&state, &x, &asasd(), now, &accepted("x"));
    let next = after(&state, &execution);
    let document = &execution.committed[0].document;
    let actual = result_json(&next, document, &context("Test_6923", "asasd", false));
    assert_eq!(actual, response_data(X_RESPONSE));
    assert_eq!(next.shift_document_number, 5);
    assert_eq!(next.shift_state, 1);
    assert_eq!(document.command, CommandType::Report);
    assert_eq!(
        serde_json::to_value(&document.list_body).unwrap(),
        json!({"type":1,"revenue":1750,"non_nullable_sums":[{"operation":0,"sum":1753},{"operation":1,"sum":123},{"operation":2,"sum":729736.98},{"operation":3,"sum":31276}]})
    );
    // §9 check: the same body rebuilt from the journal alone.
    let Body::Report(body) = &document.body else { panic!("report body") };
    let baseline = shift_121_start().totals;
    let rebuilt = kz::recompute_report(&state, &journal, baseline, now, false).unwrap();
    assert_eq!(&rebuilt, body);
    journal.push(document.clone());
}

#[test]
fn tv8_z_report_with_automatic_withdrawal() {
    // TV-8, CORE-79, CORE-90, CORE-63.
    let (mut state, _) = tv7_state();
    let x = Command::Report(ReportRequest { report_type: 1 });
    state = after(&state, &run(&state, &x, &asasd(), at("2025-01-14T21:39:21"), &accepted("x")));
    state.auto_withdraw_money = true;
    let now = at("2025-01-14T22:00:00");
    let z = Command::Report(ReportRequest { report_type: 0 });
    let execution = run(&state, &z, &asasd(), now, &accepted("x"));
    let next = after(&state, &execution);
    assert_eq!(execution.committed.len(), 2);
    let withdrawal = &execution.committed[0].document;
    assert_eq!(
        (withdrawal.command, withdrawal.fr_shift_number, withdrawal.shift_document_number),
        (CommandType::MoneyPlacement, 121, 5)
    );
    assert_eq!(serde_json::to_value(&withdrawal.list_body).unwrap(), json!({"operation":1,"sum":1750}));
    let report = &execution.committed[1].document;
    assert_eq!((report.command, report.fr_shift_number, report.shift_document_number), (CommandType::CloseShift, 121, 6));
    let result = serde_json::to_value(kz::operation_result(&next, report, &context("Test_6923", "asasd", false))).unwrap();
    assert_eq!(result["report_type"], json!(0));
    assert_eq!(result["command_type"], json!(3));
    assert_eq!(result["fr_shift_number"], json!(121));
    assert_eq!(result["shift_document_number"], json!(6));
    assert_eq!(result["shift_state"], json!(0));
    assert_eq!(result["total_payments"], json!([750, 1000, 0, 0, 0]));
    let body = &result["body"];
    assert_eq!(body["cash_sum"], json!({"bills":0,"coins":0}));
    assert_eq!(body["revenue"], json!({"sum":{"bills":1750,"coins":0},"is_negative":false}));
    assert_eq!(
        body["close_shift_time"],
        json!({"date":{"year":2025,"month":1,"day":14},"time":{"hour":22,"minute":0,"second":0}})
    );
    assert_eq!(
        body["money_placementsList"],
        json!([
            {"operation":0,"operations_total_count":127,"operations_count":1,"operations_sum":{"bills":1000,"coins":0},"offline_count":0},
            {"operation":1,"operations_total_count":233,"operations_count":1,"operations_sum":{"bills":1750,"coins":0},"offline_count":0}
        ])
    );
    let x_body = response_data(X_RESPONSE)["body"].clone();
    for list in [
        "sectionsList",
        "operationsList",
        "discountsList",
        "markupsList",
        "total_resultList",
        "taxesList",
        "ticket_operationsList",
        "non_nullable_sumsList",
        "start_shift_non_nullable_sumsList",
    ] {
        assert_eq!(normalize(body[list].clone()), x_body[list], "{list}");
    }
    assert_eq!(
        serde_json::to_value(&report.list_body).unwrap(),
        json!({"type":0,"revenue":1750,"non_nullable_sums":[{"operation":0,"sum":1753},{"operation":1,"sum":123},{"operation":2,"sum":729736.98},{"operation":3,"sum":31276}]})
    );
    // State after (CORE-63).
    assert_eq!((next.fr_shift_number, next.shift_state, next.shift_document_number), (122, 0, 1));
    assert_eq!((next.revenue, next.cash_sum), (Money::ZERO, Money::ZERO));
    assert_eq!(next.start_shift_non_nullable_sums, next.non_nullable_sums);
    assert_eq!(next.non_nullable_sums, [money("1753"), money("123"), money("729736.98"), money("31276")]);
    let kkm = serde_json::to_value(&next).unwrap();
    assert_eq!(kkm["shift_open_date"], json!("1899-12-30T00:00:00.000"));
    assert_eq!(kkm["shift_close_date"], json!("2025-01-14T22:00:00.000"));
    assert_eq!(kkm["non_nullable_sums"], json!([1753, 123, 729736.98, 31276])); // CORE-25
    // The next ticket opens shift 122 as document 1 (CORE-62).
    let sale = run(&next, &trade(trade_request()), &asasd(), at("2025-01-15T09:00:00"), &accepted("902"));
    let opened = after(&next, &sale);
    let doc = &sale.committed[0].document;
    assert_eq!((doc.fr_shift_number, doc.shift_document_number), (122, 1));
    assert_eq!((opened.shift_state, opened.shift_open_date), (1, Some(at("2025-01-15T09:00:00"))));
    assert_eq!(opened.shift_close_date, None);
}

/// TV-16 pre: TV-4's items and discounts (T = 1750), online, cash_sum 0.
fn tv16(payments: Value, taken: Option<&str>) -> Result<(KkmState, Document), u32> {
    let mut request: Value = serde_json::from_str(TRADE_REQUEST).unwrap();
    request["payments"] = payments;
    if let Some(taken) = taken {
        request["amounts"]["taken"] = serde_json::from_str(taken).unwrap();
    }
    let request: TradeRequest = serde_json::from_value(request).unwrap();
    let mut state = KkmState::new(reg_info());
    state.fr_shift_number = 5;
    let execution = run(&state, &trade(request), &admin(), at("2025-02-01T10:00:00"), &accepted("77"));
    match execution.outcome {
        Ok(()) => {
            let done = execution.committed.last().unwrap();
            Ok((done.state.clone(), done.document.clone()))
        }
        Err(error) => Err(error.code()),
    }
}

fn amounts_and_payments(document: &Document) -> (Value, Value, Value) {
    let body = serde_json::to_value(&document.body).unwrap();
    (body["amounts"]["taken"].clone(), body["amounts"]["change"].clone(), body["paymentsList"].clone())
}

#[test]
fn tv16_payment_variants() {
    // TV-16, CORE-72, CORE-73, CORE-75.
    let m = |bills: u64| json!({"bills": bills, "coins": 0});
    let (state, doc) = tv16(json!([{"type":1,"sum":1750}]), None).unwrap();
    assert_eq!(amounts_and_payments(&doc), (m(0), m(0), json!([{"type":1,"sum":m(1750)}])));
    assert_eq!(state.cash_sum, Money::ZERO);
    let (state, doc) = tv16(json!([{"type":0,"sum":1750}]), Some("2000")).unwrap();
    assert_eq!(amounts_and_payments(&doc), (m(2000), m(250), json!([{"type":0,"sum":m(1750)}])));
    assert_eq!(state.cash_sum, money("1750"));
    let (_, doc) = tv16(json!([{"type":1,"sum":1000}]), Some("1000")).unwrap();
    assert_eq!(amounts_and_payments(&doc), (m(1000), m(250), json!([{"type":1,"sum":m(1000)},{"type":0,"sum":m(750)}])));
    assert_eq!(tv16(json!([{"type":0,"sum":1000},{"type":1,"sum":1800}]), None).unwrap_err(), 55);
    assert_eq!(tv16(json!([{"type":0,"sum":500},{"type":1,"sum":1000}]), None).unwrap_err(), 57);
    assert_eq!(tv16(json!([]), Some("0")).unwrap_err(), 56);
    assert_eq!(tv16(json!([{"type":0,"sum":1000},{"type":0,"sum":750}]), None).unwrap_err(), 2);
    assert_eq!(tv16(json!([{"type":2,"sum":1750}]), None).unwrap_err(), 2);
    assert_eq!(tv16(json!([{"type":0,"sum":-5}]), None).unwrap_err(), 53);
}

/// TV-17: one change to the TV-4 request (as JSON) or pre-state → the code.
fn tv17(change: impl FnOnce(&mut Value)) -> u32 {
    let mut request: Value = serde_json::from_str(TRADE_REQUEST).unwrap();
    change(&mut request);
    let request: TradeRequest = serde_json::from_value(request).unwrap();
    error_of(&tv4_state(), &trade(request), at("2025-01-17T13:34:37"), &OfdOutcome::Unreachable)
}

#[test]
fn tv17_validation_errors() {
    // TV-17 rows that are fiscal logic (CORE-68..72); transport/auth rows belong to the face.
    let commodity = "/items/0/commodity";
    let set = |path: &'static str, value: Value| move |r: &mut Value| *r.pointer_mut(path).unwrap() = value;
    assert_eq!(tv17(set("/operation", json!(7))), 2); // B1
    assert_eq!(tv17(set("/items", json!([]))), 45); // B2
    assert_eq!(tv17(set("/items/0/type", json!(5))), 46); // B4
    assert_eq!(tv17(set("/items/0/type", json!(2))), 50); // B3
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["name"] = json!("")), 46);
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["measure_unit_code"] = json!("")), 81);
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["section_code"] = json!("")), 82);
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["quantity"] = json!(0)), 47); // CORE-26
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["quantity"] = serde_json::from_str("0.0001").unwrap()), 47);
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["price"] = json!(0)), 94);
    assert_eq!(tv17(|r| r.pointer_mut(commodity).unwrap()["sum"] = json!(0)), 95);
    assert_eq!(
        tv17(|r| r.pointer_mut(commodity).unwrap()["taxes"] =
            serde_json::from_str(r#"[{"taxation_type":101,"percent":12,"sum":214.29,"is_in_total_sum":true}]"#).unwrap()),
        88
    );
    assert_eq!(
        tv17(|r| {
            r["taxes"] = serde_json::from_str(
            r#"[{"taxation_type":101,"percent":12,"sum":187.5,"is_in_total_sum":true},{"taxation_type":101,"percent":12,"sum":1,"is_in_total_sum":true}]"#
        )
        .unwrap()
        }),
        89
    ); // CORE-70
    assert_eq!(tv17(|r| r["taxes"][0]["taxation_type"] = json!(99)), 60);
    assert_eq!(tv17(|r| r["amounts"]["markup"]["sum"] = json!(10)), 65);
    assert_eq!(tv17(|r| r["amounts"]["discount"]["sum"] = json!(-1)), 63);
    assert_eq!(tv17(|r| r["items"][0]["markup"] = json!({"sum": 10})), 65);
    assert_eq!(tv17(|r| r["items"][0]["discount"]["sum"] = json!(2000)), 59); // CORE-72
    assert_eq!(tv17(|r| r["amounts"]["discount"]["sum"] = json!(1950)), 59);
    assert_eq!(tv17(|r| r["customer_iin_or_bin"] = json!("910812450255")), 77); // CORE-71 step D
    // SELL_RETURN with an empty drawer: C_net 750 > 0 → 58 (CORE-72 8).
    let mut request = trade_request();
    request.operation = 3;
    let mut empty = tv4_state();
    empty.cash_sum = Money::ZERO;
    assert_eq!(error_of(&empty, &trade(request), at("2025-01-17T13:34:37"), &OfdOutcome::Unreachable), 58);
    // Autonomous since 73 h → 18 (CORE-97).
    let mut long = tv4_state();
    long.offline_start_date = Some(at("2025-01-14T12:34:37"));
    assert_eq!(error_of(&long, &trade(trade_request()), at("2025-01-17T13:34:37"), &OfdOutcome::Unreachable), 18);
}

#[test]
fn tv17_blocked_by_ofd() {
    // TV-17 last row, CORE-94: 62, flags set, no journal record, no number consumed.
    let mut state = tv4_state();
    state.is_offline = false;
    state.offline_start_date = None;
    let blocked = OfdOutcome::Blocked { text: "blocked by OFD".into() };
    let execution = run(&state, &trade(trade_request()), &admin(), at("2025-01-17T13:34:37"), &blocked);
    assert_eq!(execution.outcome, Err(KzError::KkmIsBlocked));
    assert!(execution.committed.is_empty());
    let failed = execution.failed_state.as_deref().unwrap();
    assert!(failed.is_blocked);
    assert_eq!(failed.blocked_info, "blocked by OFD");
    assert_eq!(failed.shift_document_number, state.shift_document_number);
    assert_eq!(failed.offline_ticket_number, state.offline_ticket_number);
    // The next accepted document clears the flags.
    let ok = run(failed, &trade(trade_request()), &admin(), at("2025-01-17T13:35:00"), &accepted("5"));
    let cleared = after(failed, &ok);
    assert!(!cleared.is_blocked && cleared.blocked_info.is_empty());
}

#[test]
fn tv18_other_operation_errors() {
    // TV-18, CORE-78, CORE-89.
    let mut state = KkmState::new(reg_info());
    state.cash_sum = money("1750");
    let now = at("2025-01-14T21:00:00");
    let placement = |operation, sum: &str| Command::MoneyPlacement(MoneyPlacementRequest { operation, sum: money(sum) });
    assert_eq!(error_of(&state, &placement(1, "5000"), now, &accepted("x")), 58);
    assert_eq!(error_of(&state, &placement(1, "0"), now, &accepted("x")), 2);
    assert_eq!(error_of(&state, &placement(2, "10"), now, &accepted("x")), 2);
    assert_eq!(error_of(&state, &Command::Report(ReportRequest { report_type: 5 }), now, &accepted("x")), 34);
}

#[test]
fn tv19_offline_numbering_and_qr() {
    // TV-19, CORE-95, CORE-98, CORE-100.
    let mut request: Value = serde_json::from_str(TRADE_REQUEST).unwrap();
    request["items"] = json!([{"type":1,"commodity":{"name":"x","section_code":"1","quantity":1,"price":187.5,"sum":187.5,"measure_unit_code":"796"}}]);
    request["payments"] = json!([{"type":0,"sum":187.5}]);
    request["amounts"] = json!({});
    request["taxes"] = json!([]);
    request["customer_iin_or_bin"] = json!("");
    let request: TradeRequest = serde_json::from_value(request).unwrap();
    let state = KkmState::new(reg_info());
    let config = KkmConfig::new("http://consumer.oofd.kz");
    let now = at("2025-03-05T09:07:03");
    let execution = kz::execute(&state, &trade(request.clone()), &admin(), &config, now, |_| OfdOutcome::Unreachable);
    let next = after(&state, &execution);
    let document = &execution.committed[0].document;
    assert_eq!(document.fiscal_id, "1001");
    assert_eq!(document.qr_code, "http://consumer.oofd.kz/?&i=1001&f=010100134464&s=187,50&t=20250305T090703");
    assert!(next.is_offline && document.is_offline);
    assert_eq!(serde_json::to_value(&next).unwrap()["offline_start_date"], json!("2025-03-05T09:07:03.000"));
    let result = serde_json::to_value(kz::operation_result(&next, document, &ResultContext::default())).unwrap();
    assert_eq!(result["is_offline"], json!(true));
    assert_eq!(result["body"]["printed_ticket"], result["qr_code"]);
    // CORE-95: while autonomous nothing is submitted.
    let mut submitted = false;
    let second = kz::execute(&next, &trade(request), &admin(), &config, at("2025-03-05T09:08:00"), |_| {
        submitted = true;
        accepted("nope")
    });
    assert!(!submitted);
    assert_eq!(second.committed[0].document.fiscal_id, "1002");
    // Totals format.
    assert_eq!(kz::qr_code("http://c", "1", "f", money("0.05"), now), "http://c/?&i=1&f=f&s=0,05&t=20250305T090703");
    assert_eq!(kz::qr_code("http://c", "1", "f", money("1234567.8"), now), "http://c/?&i=1&f=f&s=1234567,80&t=20250305T090703");
}

#[test]
fn tv3_vendor_id() {
    // TV-3, CORE-45.
    let generated = kz::vendor_id("ISCR", at("2022-02-24T16:25:46.997")).unwrap();
    assert_eq!(generated.vendor_id, "ISCR1036260746997");
    assert_eq!(generated.manufacture_date.to_string(), "2022-02-24T16:25:46.997");
    assert_eq!(kz::manufacture_date("ISCR1018036404743").unwrap().to_string(), "2021-07-28T18:06:44.743");
    assert_eq!(kz::manufacture_date("ISCR1036260746997"), Some(at("2022-02-24T16:25:46.997")));
    // Consecutive calls are distinct.
    let now = at("2022-02-24T16:25:46.997");
    let next = kz::vendor::next_instant(Some(now), now);
    assert_ne!(kz::vendor_id("ISCR", next).unwrap().vendor_id, generated.vendor_id);
    assert_eq!(kz::vendor_id("ISCR", at("2020-12-31T23:59:59")), None);
}

#[test]
fn tv5_money_conversion() {
    // TV-5, CORE-22, CORE-24, CORE-25.
    use kassa_domain::kz::wire::{MoneyObject, shortest};
    for (text, bills, coins) in [
        ("727985.98", 727_985, 98),
        ("11749.5", 11_749, 50),
        ("187.5", 187, 50),
        ("1562.5", 1562, 50),
        ("1234.56", 1234, 56),
        ("0.005", 0, 1),
    ] {
        let amount = Money::parse_rounded(text).unwrap();
        assert_eq!(MoneyObject::of(amount), MoneyObject { bills, coins }, "{text}");
    }
    assert_eq!(shortest(Money::from_minor(1_175_000)), "11750");
    assert_eq!(shortest(Money::from_minor(72_798_598)), "727985.98");
}

/// A simple online sale of `amount` paid in cash, section `section`.
fn sale(operation: i64, amount: &str, section: &str) -> Command {
    let request: TradeRequest = serde_json::from_value(json!({
        "operation": operation,
        "items": [{"type":1,"commodity":{"name":"x","section_code":section,"quantity":1,"price":serde_json::from_str::<Value>(amount).unwrap(),"sum":serde_json::from_str::<Value>(amount).unwrap(),"measure_unit_code":"796"}}],
        "payments": [{"type":0,"sum":serde_json::from_str::<Value>(amount).unwrap()}]
    }))
    .unwrap();
    trade(request)
}

#[test]
fn core_64_shift_of_24_hours_is_closed_by_the_next_ticket() {
    // CORE-64 with CORE-79: withdrawal, Z (own documents), then the ticket opens the next shift.
    let mut state = KkmState::new(reg_info());
    state.auto_withdraw_money = true;
    state = after(&state, &run(&state, &sale(2, "100", "1"), &admin(), at("2025-01-01T08:00:00"), &accepted("1")));
    // 23:59:59 later: still the same shift.
    let same = run(&state, &sale(2, "50", "1"), &admin(), at("2025-01-02T07:59:59"), &accepted("2"));
    assert_eq!(same.committed.len(), 1);
    state = after(&state, &same);
    assert_eq!(state.fr_shift_number, 1);
    // 24 h after opening: automatic withdrawal of 150, Z of shift 1, ticket 1 of shift 2.
    let execution = run(&state, &sale(2, "10", "1"), &admin(), at("2025-01-02T08:00:00"), &accepted("3"));
    let next = after(&state, &execution);
    let kinds: Vec<_> = execution
        .committed
        .iter()
        .map(|f| (f.document.command, f.document.fr_shift_number, f.document.shift_document_number))
        .collect();
    assert_eq!(kinds, vec![(CommandType::MoneyPlacement, 1, 3), (CommandType::CloseShift, 1, 4), (CommandType::Ticket, 2, 1)]);
    assert_eq!(next.cash_sum, money("10"));
    assert_eq!(next.shift_open_date, Some(at("2025-01-02T08:00:00")));
    // The automatic Z stays committed even if the ticket then fails (§8.4).
    let mut failing = trade_request();
    failing.customer_iin_or_bin = "910812450255".into();
    let mut old = state.clone();
    old.auto_withdraw_money = false;
    let execution = run(&old, &trade(failing), &admin(), at("2025-01-03T08:00:00"), &accepted("4"));
    assert_eq!(execution.outcome, Err(KzError::SameTaxpayerAndCustomer));
    assert_eq!(execution.committed.len(), 1);
    assert_eq!(execution.final_state(&old).fr_shift_number, 2);
}

#[test]
fn core_65_z_report_on_a_closed_shift() {
    // CORE-65: accepted; reports the current shift with no operations, then CORE-63.
    let state = KkmState::new(reg_info());
    let z = Command::Report(ReportRequest { report_type: 0 });
    let execution = run(&state, &z, &admin(), at("2025-01-01T08:00:00"), &accepted("x"));
    let next = after(&state, &execution);
    assert_eq!(next.fr_shift_number, 2);
    let Body::Report(report) = &execution.committed[0].document.body else { panic!("report") };
    assert_eq!(report.shift_number, 1);
    assert!(report.operations.is_empty() && report.ticket_operations.is_empty());
    // CORE-79: no withdrawal when the drawer is empty (A-17).
    assert_eq!(execution.committed.len(), 1);
}

#[test]
fn core_62_only_tickets_open_a_shift() {
    // CORE-62, A-14: money placements and X reports leave the shift closed.
    let mut state = KkmState::new(reg_info());
    let deposit = Command::MoneyPlacement(MoneyPlacementRequest { operation: 0, sum: money("10") });
    state = after(&state, &run(&state, &deposit, &admin(), at("2025-01-01T08:00:00"), &accepted("x")));
    let x = Command::Report(ReportRequest { report_type: 1 });
    state = after(&state, &run(&state, &x, &admin(), at("2025-01-01T08:01:00"), &accepted("x")));
    assert_eq!((state.shift_state, state.shift_document_number), (0, 3));
    state = after(&state, &run(&state, &sale(2, "5", "1"), &admin(), at("2025-01-01T08:02:00"), &accepted("1")));
    assert_eq!((state.shift_state, state.shift_document_number, state.fr_shift_number), (1, 4, 1));
}

#[test]
fn core_94_ofd_outcomes() {
    // CORE-94: refusals change nothing and consume no number; InvalidToken is autonomous.
    let state = KkmState::new(reg_info());
    let now = at("2025-01-01T08:00:00");
    for (outcome, code) in [
        (OfdOutcome::UnknownKkm, 61),
        (OfdOutcome::SameTaxpayerAndCustomer, 77),
        (OfdOutcome::Rejected, 84),
        (OfdOutcome::Undecodable, 28),
        (OfdOutcome::Blocked { text: "t".into() }, 62),
    ] {
        let execution = run(&state, &sale(2, "5", "1"), &admin(), now, &outcome);
        assert_eq!(execution.outcome.map_err(KzError::code), Err(code));
        assert!(execution.committed.is_empty());
    }
    let execution = run(&state, &sale(2, "5", "1"), &admin(), now, &OfdOutcome::InvalidToken);
    let next = after(&state, &execution);
    assert!(next.is_invalid_token && next.is_offline);
    assert_eq!(execution.committed[0].document.fiscal_id, "1001");
    // Online acceptance takes the OFD's fiscal id and QR, and its ads.
    let ads = vec![kz::AdsObject { info: kz::state::AdInfo { kind: 0, version: 601 }, text: "ad".into() }];
    let outcome = OfdOutcome::Accepted { fiscal_id: "123".into(), qr_code: "qr".into(), ads_info: Some(ads.clone()) };
    let execution = run(&state, &sale(2, "5", "1"), &admin(), now, &outcome);
    let next = after(&state, &execution);
    let document = &execution.committed[0].document;
    assert_eq!((document.fiscal_id.as_str(), document.qr_code.as_str(), document.is_offline), ("123", "qr", false));
    let Body::Ticket(ticket) = &document.body else { panic!("ticket") };
    assert_eq!((ticket.offline_ticket_number, ticket.printed_document_number_old.as_str()), (0, "123"));
    assert_eq!(next.ads_info, ads);
    assert_eq!(serde_json::to_value(&next.ads_info).unwrap()[0]["Text"], json!("ad"));
}

#[test]
fn core_96_leaving_autonomous_mode() {
    // CORE-96, A-33: when the queue is drained the flags and dates reset.
    let state = after(
        &KkmState::new(reg_info()),
        &run(&KkmState::new(reg_info()), &sale(2, "5", "1"), &admin(), at("2025-01-01T08:00:00"), &OfdOutcome::Unreachable),
    );
    assert!(state.is_offline);
    let online = state.queue_drained();
    assert!(!online.is_offline);
    assert_eq!((online.offline_start_date, online.offline_end_date), (None, None));
    // The autonomous numbers are never reused (CORE-98).
    let again = run(&online, &sale(2, "5", "1"), &admin(), at("2025-01-01T09:00:00"), &OfdOutcome::Unreachable);
    assert_eq!(again.committed[0].document.fiscal_id, "1002");
}

#[test]
fn core_97_offline_limit_is_configurable() {
    // CORE-97: 18 for trade, placement and reports once the limit is reached.
    let state = after(
        &KkmState::new(reg_info()),
        &run(&KkmState::new(reg_info()), &sale(2, "5", "1"), &admin(), at("2025-01-01T08:00:00"), &OfdOutcome::Unreachable),
    );
    let mut config = test_config();
    config.offline_limit = kz::Millis::hours(1);
    let commands = [
        sale(2, "5", "1"),
        Command::MoneyPlacement(MoneyPlacementRequest { operation: 0, sum: money("1") }),
        Command::Report(ReportRequest { report_type: 1 }),
    ];
    for command in &commands {
        let early = kz::execute(&state, command, &admin(), &config, at("2025-01-01T08:59:59"), |_| OfdOutcome::Unreachable);
        assert_eq!(early.outcome, Ok(()));
        let late = kz::execute(&state, command, &admin(), &config, at("2025-01-01T09:00:00"), |_| OfdOutcome::Unreachable);
        assert_eq!(late.outcome, Err(KzError::OfflineTooLong));
    }
}

#[test]
fn core_32_clock_behind_the_journal() {
    // CORE-32: 36 when the clock is earlier than the latest journal record.
    let state = after(
        &KkmState::new(reg_info()),
        &run(&KkmState::new(reg_info()), &sale(2, "5", "1"), &admin(), at("2025-01-01T08:00:00"), &accepted("1")),
    );
    assert_eq!(error_of(&state, &sale(2, "5", "1"), at("2025-01-01T07:59:59"), &accepted("2")), 36);
    assert_eq!(
        error_of(&state, &Command::Report(ReportRequest { report_type: 0 }), at("2025-01-01T07:00:00"), &accepted("2")),
        36
    );
}

#[test]
fn core_74_counters_per_operation() {
    // CORE-74: drawer and revenue signs per operation; non-nullable sums always grow.
    let mut state = KkmState::new(reg_info());
    let now = at("2025-01-01T08:00:00");
    state = after(&state, &run(&state, &sale(2, "100", "1"), &admin(), now, &accepted("1")));
    state = after(&state, &run(&state, &sale(1, "30", "1"), &admin(), now, &accepted("2")));
    state = after(&state, &run(&state, &sale(3, "20", "1"), &admin(), now, &accepted("3")));
    state = after(&state, &run(&state, &sale(0, "5", "1"), &admin(), now, &accepted("4")));
    assert_eq!(state.cash_sum, money("105"));
    assert_eq!(state.revenue, money("105"));
    assert_eq!(state.non_nullable_sums, [money("5"), money("30"), money("100"), money("20")]);
    // A refund larger than the drawer is refused (58): cash can never go negative.
    assert_eq!(error_of(&state, &sale(3, "105.01", "1"), now, &accepted("5")), 58);
    // CORE-88: BUY and SELL_RETURN count negative in total_payments.
    let x = run(&state, &Command::Report(ReportRequest { report_type: 1 }), &admin(), now, &accepted("x"));
    let result =
        serde_json::to_value(kz::operation_result(&after(&state, &x), &x.committed[0].document, &ResultContext::default()))
            .unwrap();
    assert_eq!(result["total_payments"], json!([105, 0, 0, 0, 0]));
    // Negative revenue is carried as a flag (CORE-84).
    let refund = after(&state, &run(&state, &sale(3, "105", "1"), &admin(), now, &accepted("6")));
    let z = run(&refund, &sale(0, "1", "1"), &admin(), now, &accepted("7"));
    assert_eq!(z.outcome, Err(KzError::NotEnoughCash));
    let x = run(&refund, &Command::Report(ReportRequest { report_type: 1 }), &admin(), now, &accepted("x"));
    let Body::Report(report) = &x.committed[0].document.body else { panic!("report") };
    assert_eq!((report.revenue.sum, report.revenue.is_negative), (Money::ZERO, false));
    assert_eq!(serde_json::to_value(after(&refund, &x)).unwrap()["revenue"], json!(0));
}

#[test]
fn core_86_tax_aggregation() {
    // CORE-86: ticket tax on T, commodity tax on the line, discount taxes subtract, percent lists
    // ascending, one operation list per percent.
    let request: TradeRequest = serde_json::from_value(json!({
        "operation": 2,
        "items": [
            {"type":1,"commodity":{"name":"a","section_code":"S2","quantity":1,"price":112,"sum":112,"measure_unit_code":"796",
              "taxes":[{"taxation_type":101,"percent":12,"sum":12,"is_in_total_sum":true}]},
             "discount":{"sum":11.2,"taxes":[{"taxation_type":101,"percent":12,"sum":1.2,"is_in_total_sum":true}]}},
            {"type":1,"commodity":{"name":"b","section_code":"S1","quantity":1.5,"price":10,"sum":15,"measure_unit_code":"796",
              "taxes":[{"taxation_type":101,"percent":0,"sum":0,"is_in_total_sum":true}]}}
        ],
        "payments": [{"type":1,"sum":115.8}]
    }))
    .unwrap();
    let state = KkmState::new(reg_info());
    let execution = run(&state, &trade(request), &admin(), at("2025-01-01T08:00:00"), &accepted("1"));
    let next = after(&state, &execution);
    let body =
        kz::report_body(&kz::report::ReportHeader::of(&next, at("2025-01-01T09:00:00"), false), &next.counters, &next.totals);
    let json = serde_json::to_value(&body).unwrap();
    let m = |bills: u64, coins: u32| json!({"bills": bills, "coins": coins});
    assert_eq!(
        json["taxesList"],
        json!([
            {"percent":0,"operationsList":[{"operation":2,"turnover":m(15,0),"turnover_without_tax":m(15,0),"sum":m(0,0)}]},
            {"percent":12000,"operationsList":[{"operation":2,"turnover":m(100,80),"turnover_without_tax":m(90,0),"sum":m(10,80)}]}
        ])
    );
    // CORE-87: sections in order of first appearance; discounts listed; markups empty.
    assert_eq!(json["sectionsList"][0]["section_code"], json!("S2"));
    assert_eq!(json["sectionsList"][1]["section_code"], json!("S1"));
    assert_eq!(json["discountsList"], json!([{"operation":2,"count":1,"sum":m(11,20)}]));
    assert_eq!(json["markupsList"], json!([]));
    assert_eq!(json["total_resultList"], json!([{"operation":2,"count":2,"sum":m(115,80)}]));
    assert_eq!(json["ticket_operationsList"][0]["paymentsList"], json!([{"payment":1,"sum":m(115,80),"count":1}]));
}

#[test]
fn section_11_error_codes_and_texts() {
    // §11 / CORE-9: every refusal has its exact code and text constant.
    let expected = [
        (2, "invalid_fields"),
        (8, "kkm_reginfo_request_error"),
        (9, "invalid_kkm_vendor_id"),
        (18, "kkm_in_offline_mode_too_long"),
        (28, "protobuf_deserialization_error"),
        (29, "operation_failed"),
        (34, "invalid_report_type"),
        (36, "invalid_local_date"),
        (45, "items_list_is_empty"),
        (46, "item_commodity_undefined"),
        (47, "item_quantity_is_incorrect"),
        (48, "item_discount_undefined"),
        (49, "item_markup_undefined"),
        (50, "unknown_item_type"),
        (52, "amounts_total_is_incorrect"),
        (53, "money_value_is_negative"),
        (54, "sum_to_pay_is_incorrect"),
        (55, "card_sum_is_greater_than_total"),
        (56, "paid_sum_is_incorrect"),
        (57, "paid_sum_is_less_than_total"),
        (58, "not_enough_cash"),
        (59, "discount_sum_must_be_less_than_total"),
        (60, "taxation_type_is_incorrect"),
        (61, "invalid_kkm_ofd_id"),
        (62, "kkm_is_blocked"),
        (63, "discount_sum_is_negative"),
        (64, "markup_sum_is_negative"),
        (65, "discount_and_markup_are_mutually_exclusive"),
        (76, "kkm_shift_is_not_closed"),
        (77, "same_taxpayer_and_customer"),
        (81, "measure_unit_code_is_empty"),
        (82, "section_code_is_empty"),
        (84, "invalid_ofd_response"),
        (88, "items_taxes_and_ticket_taxes_are_mutually_exclusive"),
        (89, "tax_percentage_is_already_present"),
        (94, "item_price_is_incorrect"),
        (95, "item_sum_is_incorrect"),
    ];
    let actual: Vec<(u32, &str)> = KzError::ALL.iter().map(|e| (e.code(), e.text())).collect();
    assert_eq!(actual, expected);
    assert!(KzError::ALL.iter().all(|e| e.to_string() == e.text()));
    // CORE-51: 76 while the shift is open.
    let mut state = KkmState::new(reg_info());
    assert_eq!(state.ensure_shift_closed(), Ok(()));
    state.shift_state = 1;
    assert_eq!(state.ensure_shift_closed(), Err(KzError::KkmShiftIsNotClosed));
}

#[test]
fn core_60_state_round_trips_through_json() {
    // CORE-60: the engine persists the state as a serde value; CORE-25 numbers in it.
    let (state, journal) = tv7_state();
    let value = serde_json::to_value(&state).unwrap();
    assert_eq!(value["cash_sum"], json!(1750));
    let back: KkmState = serde_json::from_value(value).unwrap();
    assert_eq!(back, state);
    for document in &journal {
        let text = serde_json::to_string(document).unwrap();
        assert_eq!(&serde_json::from_str::<Document>(&text).unwrap(), document);
    }
}

#[test]
fn core_23_negative_money_values() {
    // CORE-23: negative amounts → 53 (taken, payment, tax sum) unless a rule names 63/64/2.
    assert_eq!(tv17(|r| r["amounts"]["taken"] = json!(-1)), 53);
    assert_eq!(tv17(|r| r["taxes"][0]["sum"] = json!(-1)), 53);
    assert_eq!(tv17(|r| r["payments"][1]["sum"] = json!(-0.01)), 53);
    assert_eq!(tv17(|r| r["taxes"][0]["percent"] = json!(-1)), 2); // CORE-70
    assert_eq!(tv17(|r| r["amounts"]["markup"]["sum"] = json!(-1)), 64);
}

#[test]
fn core_50_new_kkm_defaults() {
    // CORE-50, CORE-61: shift 1 closed, document 1, sums 0, offline number 0, local_state 0.
    let state = KkmState::new(reg_info());
    let value = serde_json::to_value(&state).unwrap();
    assert_eq!((state.fr_shift_number, state.shift_state, state.shift_document_number), (1, 0, 1));
    assert_eq!((state.offline_ticket_number, state.local_state), (0, 0));
    assert_eq!(value["non_nullable_sums"], json!([0, 0, 0, 0]));
    assert_eq!(value["shift_open_date"], json!("1899-12-30T00:00:00.000"));
    assert_eq!(state.vendor_id(), "ISCR1018036404743");
}

#[test]
fn core_99_document_and_kkm_offline_flags() {
    // CORE-99: the result's is_offline is the KKM flag after the operation; the body's and the
    // journal's tell whether that document was accepted autonomously.
    let state = KkmState::new(reg_info());
    let deposit = Command::MoneyPlacement(MoneyPlacementRequest { operation: 0, sum: money("10") });
    let execution = run(&state, &deposit, &admin(), at("2025-01-01T08:00:00"), &OfdOutcome::Unreachable);
    let next = after(&state, &execution);
    let document = &execution.committed[0].document;
    let Body::MoneyPlacement(body) = &document.body else { panic!("placement") };
    assert!(body.is_offline && document.is_offline);
    let drained = next.queue_drained();
    let result = serde_json::to_value(kz::operation_result(&drained, document, &ResultContext::default())).unwrap();
    assert_eq!((result["is_offline"].clone(), result["body"]["is_offline"].clone()), (json!(false), json!(true)));
    // CORE-92: the link outcome is data passed in; a stubbed link reproduces online acceptance.
    let online = run(&drained, &deposit, &admin(), at("2025-01-01T08:01:00"), &accepted("x"));
    assert!(!online.committed[0].document.is_offline);
}

const KKM_LIST_RESPONSE: &str = include_str!("../src/kz/testdata/kkm_list_response.json");

#[test]
fn tv13_kkm_object_fields_of_the_state() {
    // TV-13 (state part), §6.1, CORE-25 numbers, CORE-30 dates: the §7.4 KKMObject read into a
    // KkmState and written back gives the same values for every field the state owns.
    let example = serde_json::from_str::<Value>(KKM_LIST_RESPONSE).unwrap()["response_data"][0].clone();
    let state: KkmState = serde_json::from_value(example.clone()).unwrap();
    assert_eq!(state.cash_sum, money("11749.5"));
    assert_eq!(state.non_nullable_sums[2], money("727986.98"));
    assert_eq!(state.shift_open_date, Some(at("2024-12-23T17:07:05")));
    assert_eq!(state.shift_close_date, None);
    let fields = serde_json::to_value(state.kkm_object_fields()).unwrap();
    let Value::Object(fields) = fields else { panic!("object") };
    assert_eq!(fields.len(), 21);
    for (key, value) in &fields {
        assert_eq!(value, &example[key], "{key}");
    }
}

#[test]
fn core_49_registration_adoption() {
    // CORE-49: reg_info stored (vendor_id = serial_number), counters never decreased; 8, 9, 36.
    use kassa_domain::kz::state::{OfdRegistration, OfdShift};
    let mut local = KkmState::new(RegInfo::default());
    local.non_nullable_sums = [money("10"), Money::ZERO, money("500"), Money::ZERO];
    local.fr_shift_number = 3;
    let now = at("2025-01-01T12:00:00");
    let shift = OfdShift {
        fr_shift_number: 120,
        shift_state: 1,
        shift_open_date: Some(at("2025-01-01T09:00:00")),
        cash_sum: money("11749.5"),
        revenue: money("1"),
        non_nullable_sums: [money("1753"), money("123"), money("400"), money("31276")],
    };
    let registration = OfdRegistration { reg_info: reg_info(), ads_info: Vec::new(), shift: Some(shift.clone()) };
    let adopted = local.adopt_registration(registration.clone(), "ISCR", now).unwrap();
    assert_eq!(adopted.vendor_id(), "ISCR1018036404743");
    assert_eq!((adopted.fr_shift_number, adopted.shift_state, adopted.shift_open_date), (120, 1, shift.shift_open_date));
    assert_eq!(adopted.non_nullable_sums, [money("1753"), money("123"), money("500"), money("31276")]);
    assert_eq!((adopted.cash_sum, adopted.revenue), (money("11749.5"), money("1")));
    assert_eq!(local.adopt_registration(registration.clone(), "ABCD", now).unwrap_err().code(), 9);
    let mut empty = registration.clone();
    empty.reg_info.kkm.serial_number.clear();
    assert_eq!(local.adopt_registration(empty, "ISCR", now).unwrap_err().code(), 8);
    assert_eq!(local.adopt_registration(registration, "ISCR", at("2025-01-01T08:00:00")).unwrap_err().code(), 36);
}
