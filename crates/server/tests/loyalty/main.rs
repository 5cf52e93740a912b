//! Frontol loyalty face against a running server: every test vector of frontol-loyalty.md §13
//! (TV-L1 … TV-L20), the admin API, tenants, refunds before sales, and random action sequences
//! checked against the ledger invariant.

#[path = "../common/mod.rs"]
mod common;
mod examples;

use common::*;
use examples::*;
use kassa_domain::loyalty::auth::token;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KEY: &str = "password";
const CARD: &str = "9070000000001000";

async fn demo_app() -> TestApp {
    let mut config = test_config();
    config.server.demo = true;
    spawn_app_with(config).await
}

/// POSTs `body` byte for byte, signed with `key` when given (LOY-12), with the headers the POS
/// sends (LOY-3), `Expect: 100-continue` included (LOY-4).
async fn post(app: &TestApp, path: &str, body: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(Method::POST, path)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("Cache-Control", "no-cache")
        .header("Expect", "100-continue")
        .body(body.to_owned());
    if let Some(k) = key {
        req = req.header("Authorization", format!("FrontolAuth {}", token(k, body.as_bytes())));
    }
    let r = app.client.send(req).await.unwrap();
    (r.status, r.body)
}

async fn doc(app: &TestApp, body: &str) -> Value {
    let (status, v) = post(app, "/frontol/document", body, Some(KEY)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = app.client.request(method, &format!("/api/tenants/demo/loyalty{path}")).bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = app.client.send(req).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

async fn account(app: &TestApp) -> Value {
    admin(app, Method::GET, "/clients?client=demo-client", None).await[0]["account"].clone()
}

fn with(body: &str, from: &str, to: &str) -> String {
    assert!(body.contains(from), "example contains {from}");
    body.replacen(from, to, 1)
}

async fn assert_balanced(app: &TestApp) {
    let check = admin(app, Method::GET, "/ledger-check", None).await;
    assert_eq!(check["balanced"], true, "{check}");
}

#[tokio::test]
async fn tv_l1_md5_vector_and_negatives_loy_17() {
    assert_eq!(token(KEY, AUTH_BODY.as_bytes()), "24da9926bd1afa6c523cd4e011f66137");
    assert_eq!(token(KEY, format!("{AUTH_BODY} ").as_bytes()), "2b6dd10efdb5b31974dd55c6943fe492");
    assert_eq!(token("", AUTH_BODY.as_bytes()), "b3532d6a30d9f210f7b7296a937b1a4a");
}

#[tokio::test]
async fn tv_l2_to_l5_frontol_auth_loy_12_to_16() {
    let app = demo_app().await;
    let auth = |t: &str| format!("FrontolAuth {t}");
    let send = |body: String, header: Option<String>| {
        let mut req = app.client.request(Method::POST, "/frontol/document").body(body);
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        app.client.send(req)
    };
    // TV-L2: authorised; card 123 is unknown → code 4, not 403 (LOY-57: a calculate error only
    // for an unknown or blocked client).
    let r = send(AUTH_BODY.into(), Some(auth("24da9926bd1afa6c523cd4e011f66137"))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["code"], 4);
    // TV-L3: hex case does not matter.
    let r = send(AUTH_BODY.into(), Some(auth("24DA9926BD1AFA6C523CD4E011F66137"))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    // TV-L4: one trailing space more → 403 with the LOY-16 body (LOY-14: mismatch → 403).
    let r = send(format!("{AUTH_BODY} "), Some(auth("24da9926bd1afa6c523cd4e011f66137"))).await.unwrap();
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body, json!({"code": 9, "error": "Ошибка авторизации"}));
    // TV-L5: no header → 403; malformed scheme → 403.
    assert_eq!(send(AUTH_BODY.into(), None).await.unwrap().status, StatusCode::FORBIDDEN);
    let r = send(AUTH_BODY.into(), Some("Bearer 24da9926bd1afa6c523cd4e011f66137".into())).await.unwrap();
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A rejected request has no side effects: nothing in the audit log.
    assert_eq!(admin(&app, Method::GET, "/audit", None).await.as_array().unwrap().len(), 2);
    // TV-L2 with the demo card: a no-document precheck answers the balance, no document (LOY-29).
    let body = AUTH_BODY.replace("\"123\"", &format!("\"{CARD}\""));
    let v = doc(&app, &body).await;
    assert_eq!(v["code"], 0);
    assert!(v.get("document").is_none());
    assert_eq!(v["client"]["availableAmount"].to_string(), "1000.00");
    app.stop().await;
}

#[tokio::test]
async fn tv_l6_server_without_key_accepts_any_header_loy_16() {
    let app = spawn_app().await;
    let tenant = json!({"id": "open", "loyalty": {"rule": [{"kind": "accrual", "id": "a", "percent": 5}]}});
    assert_eq!(app.client.put_tenant("open", &tenant).await.unwrap().status, StatusCode::OK);
    let req = app
        .client
        .request(Method::POST, "/frontol/document")
        .header("Authorization", "FrontolAuth 00000000000000000000000000000000")
        .body(AUTH_BODY);
    let r = app.client.send(req).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["code"], 4, "processed: the card is unknown to this tenant");
    // LOY-15: a POS without a key sends no Authorization at all.
    let r = app.client.send(app.client.request(Method::POST, "/frontol/document").body(AUTH_BODY)).await.unwrap();
    assert_eq!((r.status, r.body["code"].clone()), (StatusCode::OK, json!(4)));
    app.stop().await;
}

/// TV-L7 … TV-L17 in the order of §13 (they build on each other).
#[tokio::test]
async fn tv_l7_to_l17_document_life_cycle() {
    let app = demo_app().await;

    // TV-L7: precheck (LOY-26, LOY-47, LOY-48).
    let v = doc(&app, CALC).await;
    assert_eq!(v["code"], 0, "{v}");
    let caps = [(1, "2000.00"), (2, "100.00"), (3, "59.22")];
    for p in v["document"]["positions"].as_array().unwrap() {
        let cap: f64 = caps.iter().find(|c| c.0 == p["index"].as_i64().unwrap()).unwrap().1.parse().unwrap();
        let d = p["discountAmount"].to_string();
        assert!(d.split('.').nth(1).is_some_and(|f| f.len() == 2), "two decimals: {d}");
        assert!(d.parse::<f64>().unwrap() <= cap && d.parse::<f64>().unwrap() >= 0.0, "{p}");
    }
    let expected: Value = serde_json::from_str(
        r#"[{"index": 1, "discountAmount": 400.00}, {"index": 2, "discountAmount": 5.00}, {"index": 3, "discountAmount": 59.22}]"#,
    )
    .unwrap();
    assert_eq!(v["document"]["positions"], expected);
    assert_eq!(v["client"]["availableAmount"].to_string(), "1000.00");
    // LOY-60: the contacts for the e-receipt; LOY-46: availableAmount ≤ the room (1509.22).
    assert_eq!(v["client"]["mobilePhone"], "+79211022546");
    assert_eq!(v["client"]["email"], "sobaka@gmail.com");
    assert!(v["client"].get("validationCode").is_none(), "card prechecks need no code");
    assert!(v.get("printingInformation").is_none(), "LOY-59: no slip on prechecks");
    // TV-L8: a repeated precheck is pure (LOY-27).
    assert_eq!(doc(&app, CALC).await, v);
    assert_eq!(account(&app).await["balance"].to_string(), "1000.00");

    // TV-L10: bonus payment with an exact distribution (LOY-49, LOY-83); every part within the
    // room above the floor, so the POS applies it (LOY-32, LOY-62).
    let paid = doc(&app, PAY).await;
    assert_eq!(paid["code"], 0, "{paid}");
    let parts = paid["document"]["positions"].as_array().unwrap();
    let sum: i64 = parts.iter().map(|p| (p["paidAmount"].as_f64().unwrap() * 100.0).round() as i64).sum();
    assert_eq!(sum, 60_000);
    let caps = [(1, 1500.0), (2, 0.0), (3, 9.22)];
    for p in parts {
        let cap = caps.iter().find(|c| c.0 == p["index"].as_i64().unwrap()).unwrap().1;
        assert!(p["paidAmount"].as_f64().unwrap() <= cap, "{p}");
    }
    assert_eq!(account(&app).await["held"].to_string(), "600.00");
    // TV-L11: replay with a new dateTime → same body, still one reservation (LOY-81; the cashier's
    // resend after a lost response, LOY-30, LOY-63).
    let again = doc(&app, &with(PAY, "2017-10-09T18:31:42.201+0300", "2017-10-09T18:35:00.000+0300")).await;
    assert_eq!(again, paid);
    assert_eq!(account(&app).await["held"].to_string(), "600.00");
    // TV-L12: more than available → 5, no reservation; fiscal mode → 3 (LOY-50). The server
    // enforces its limits itself (LOY-31); a failed payByBonus leaves nothing behind (LOY-64).
    let v = doc(&app, &with(PAY, "\"amount\": 600.00", "\"amount\": 5000.00")).await;
    assert_eq!(v["code"], 5);
    assert_eq!(v.as_object().unwrap().len(), 2, "LOY-19: code and error only");
    let v = doc(&app, &with(PAY, "\"mode\": \"nonFiscal\"", "\"mode\": \"fiscal\"")).await;
    assert_eq!(v["code"], 3);
    assert_eq!(account(&app).await["held"].to_string(), "600.00");

    // TV-L13: cancel by uid before the confirm (LOY-33, LOY-82): done, replay, unknown uid.
    let cancel = with(CANCEL, "947277c5-04d5-4ef4-9150-385214b42367", SALE_UID);
    assert_eq!(doc(&app, &cancel).await["code"], 0);
    assert_eq!(account(&app).await["held"].to_string(), "0.00");
    assert_eq!(doc(&app, &cancel).await["code"], 0);
    assert_eq!(doc(&app, CANCEL).await["code"], 6);

    // TV-L14: confirm after the cancel (a cancel whose answer the POS lost, LOY-66): the 600.00
    // is debited without a reservation, flagged (LOY-83); accrual 5 % of the fiscal payments
    // 3421.00 = 171.05 — discardedAmount is not a discount (LOY-51, LOY-52).
    let confirmed = doc(&app, CONFIRM).await;
    assert_eq!(confirmed["code"], 0, "{confirmed}");
    assert!(confirmed["printingInformation"][0].is_array(), "LOY-40: nested slips");
    let acc = account(&app).await;
    assert_eq!(acc["balance"].to_string(), "571.05");
    let flagged = admin(&app, Method::GET, &format!("/audit?flagged=true&uid={SALE_UID}"), None).await;
    assert!(flagged.as_array().unwrap().iter().any(|a| a["action"] == "confirm" && a["note"].as_str().unwrap().contains("without a reservation")), "{flagged}");

    // TV-L15: replay (new dateTime) → same answer, no second accrual; conflict → 6 (LOY-80);
    // cancel after confirm → 6 (LOY-65).
    let replay = doc(&app, &with(CONFIRM, "2017-10-09T18:31:42.201+0300", "2017-10-10T09:00:00+03:00")).await;
    assert_eq!(replay, confirmed);
    assert_eq!(account(&app).await["balance"].to_string(), "571.05");
    let conflict = doc(&app, &with(CONFIRM, "\"totalAmount\": 512.40", "\"totalAmount\": 500.00")).await;
    assert_eq!(conflict["code"], 6);
    // LOY-34, LOY-55, LOY-56: an error answer ends the POS's attempts, so it is stored, flagged.
    let flagged = admin(&app, Method::GET, &format!("/audit?flagged=true&uid={SALE_UID}"), None).await;
    assert_eq!(flagged[0]["code"], 6);
    assert!(flagged[0]["request"].as_str().unwrap().contains("500.00"));
    assert_eq!(doc(&app, &cancel).await["code"], 6);

    // TV-L16: a confirm without any earlier request (LOY-58; the precheck failed, LOY-28).
    let lone = with(with(CONFIRM, SALE_UID, "11111111-2222-3333-4444-555555555555").as_str(), "\"type\": \"bonus\"", "\"type\": \"other\"");
    let v = doc(&app, &lone).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(account(&app).await["balance"].to_string(), "742.10", "+171.05 accrued, no debit");

    // TV-L17: refund of the whole sale: accrual 171.05 taken back, 600.00 given back (LOY-73).
    let r = doc(&app, REFUND).await;
    assert_eq!(r["code"], 0, "{r}");
    assert_eq!(account(&app).await["balance"].to_string(), "1171.05");
    assert_eq!(doc(&app, &with(REFUND, "2017-10-09T18:31:42.201+0300", "2017-10-11T10:00:00Z")).await, r);
    assert_eq!(account(&app).await["balance"].to_string(), "1171.05", "replay: no double effect");
    let pending = with(with(REFUND, SALE_UID, "aaaaaaaa-0000-0000-0000-000000000000").as_str(), "947277c5", "99999999");
    assert_eq!(doc(&app, &pending).await["code"], 0);
    let docs = admin(&app, Method::GET, "/documents", None).await;
    assert!(docs.as_array().unwrap().iter().any(|d| d["state"] == "pending" && d["reference_uid"] == "aaaaaaaa-0000-0000-0000-000000000000"));
    // LOY-22, LOY-23: refunds only confirm.
    let wrong = with(REFUND, "\"action\": \"confirm\"", "\"action\": \"calculate\"");
    assert_eq!(doc(&app, &wrong).await["code"], 3);
    assert_balanced(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn tv_l9_phone_precheck_carries_the_same_code_loy_69() {
    let app = demo_app().await;
    let phone = with(CALC, &format!("\"card\": \"{CARD}\""), "\"mobilePhone\": \"+79211022546\"");
    let a = doc(&app, &phone).await;
    assert_eq!(a["code"], 0, "{a}");
    // LOY-68: the code makes the POS ask for it; LOY-70: the contacts come with the answer.
    assert_eq!(a["client"]["email"], "sobaka@gmail.com");
    let code = a["client"]["validationCode"].as_str().unwrap().to_owned();
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    let b = doc(&app, &phone).await;
    assert_eq!(b["client"]["validationCode"], code.as_str(), "same code within 15 minutes");
    app.stop().await;
}

#[tokio::test]
async fn tv_l18_client_request_and_tv_l19_canonical_slips_loy_71_loy_72() {
    let app = demo_app().await;
    let (status, v) = post(&app, "/frontol/client", CLIENT, Some(KEY)).await;
    assert_eq!((status, v["code"].clone()), (StatusCode::OK, json!(0)));
    // LOY-71: the balance travels in the cashier text and the slip; LOY-41: blocks end with a
    // line break because the POS joins them without a separator.
    assert!(v["cashierInformation"][0]["text"].as_str().unwrap().contains("1000.00"), "{v}");
    assert!(v["cashierInformation"].as_array().unwrap().iter().all(|b| b["text"].as_str().unwrap().ends_with('\n')));
    // TV-L19 / LOY-40: an array of slips (LOY-36), each an array of elements with an explicit
    // `type` (LOY-37, LOY-39).
    let slips = v["printingInformation"].as_array().unwrap();
    assert!(slips.iter().all(|s| s.as_array().is_some_and(|e| e.iter().all(|e| e["type"].is_string()))), "{v}");
    // LOY-72: an unknown client → code 4.
    let (_, v) = post(&app, "/frontol/client", &with(CLIENT, CARD, "0000"), Some(KEY)).await;
    assert_eq!(v["code"], 4);
    assert!(v["error"].is_string());
    assert_eq!(account(&app).await["balance"].to_string(), "1000.00", "no side effects");
    app.stop().await;
}

#[tokio::test]
async fn tv_l20_parsing_and_routing_loy_2_loy_8_loy_85_loy_86() {
    let app = demo_app().await;
    let (status, v) = post(&app, "/frontol/document", "{", Some(KEY)).await;
    assert_eq!((status, v["code"].clone()), (StatusCode::OK, json!(2)));
    let audit = admin(&app, Method::GET, "/audit?flagged=true", None).await;
    assert_eq!(audit[0]["request"], "{", "raw body persisted (LOY-56)");
    assert_eq!(audit[0]["code"], 2);
    let (_, v) = post(&app, "/frontol/document", &with(CALC, "\"calculate\"", "\"foo\""), Some(KEY)).await;
    assert_eq!(v["code"], 3);
    // LOY-1, LOY-8: POST only; other methods 405, unknown paths 404.
    let r = app.client.send(app.client.request(Method::GET, "/frontol/document")).await.unwrap();
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = app.client.send(app.client.request(Method::POST, "/unknown").body("{}")).await.unwrap();
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A quoted index with whitespace is a number (LOY-86); the trailing comma is fine (LOY-85).
    let quoted = with(CALC, "\"index\": 1,", "\"index\": \" 1\",");
    let v = doc(&app, &quoted).await;
    assert_eq!(v["document"]["positions"][0]["index"], 1);
    // Content type of every answer (LOY-6); success is 200 with code 0 only (LOY-7).
    let r = reqwest::Client::new().post(app.url("/frontol/document")).body("{").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_protocol_codes_never_500_loy_11_loy_25() {
    let app = demo_app().await;
    let cases = [
        (r#"[]"#, 2),
        (r#""x""#, 2),
        (r#"{"action":"calculate"}"#, 2),
        (r#"{"action":"calculate","client":{"card":""}}"#, 2),
        (r#"{"action":"payByBonus","client":{"card":"9070000000001000"},"payment":{"mode":"nonFiscal","amount":1}}"#, 2),
        (r#"{"action":"confirm","client":{"card":"9070000000001000"},"uid":"u","positions":[]}"#, 2),
        (r#"{"action":"confirm","type":"sale","client":{"card":"9070000000001000"},"uid":"u","positions":[],"payments":[]}"#, 3),
        (r#"{"action":"calculate","client":{"card":"9070000000001000"},"positions":[{"index":1,"quantity":"abc","totalAmount":1}]}"#, 2),
        (r#"{"action":"calculate","client":{"card":"9070000000001000"},"positions":[{"index":1,"quantity":1,"totalAmount":1e400}]}"#, 2),
        (r#"{"action":"calculate","client":{"card":"9070000000001000"},"positions":[{"index":1,"quantity":1,"totalAmount":99999999999999999999}]}"#, 2),
        (r#"{"action":"payByBonus","uid":"u","client":{"card":"9070000000001000"},"payment":{"mode":"nonFiscal","amount":-5},"positions":[{"index":1,"quantity":1,"totalAmount":1}]}"#, 2),
        (r#"{"action":"calculate","client":{"card":"9070000000001000"},"positions":[{"index":1,"quantity":1,"totalAmount":1},{"index":1,"quantity":1,"totalAmount":1}]}"#, 2),
    ];
    for (body, code) in cases {
        let (status, v) = post(&app, "/frontol/document", body, Some(KEY)).await;
        assert_eq!((status, v["code"].as_i64()), (StatusCode::OK, Some(code)), "{body}: {v}");
    }
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(1_100_000));
    let (status, v) = post(&app, "/frontol/document", &big, Some(KEY)).await;
    assert_eq!((status, v["code"].as_i64()), (StatusCode::OK, Some(2)));
    app.stop().await;
}

#[tokio::test]
async fn refund_before_its_sale_is_reconciled_when_the_sale_arrives_loy_73_loy_76() {
    // LOY-73, LOY-76: a refund may arrive before its sale; it waits and is reconciled.
    let app = demo_app().await;
    // Half of position 1 refunded before the sale's confirm arrives from the offline queue.
    let partial = with(REFUND, "\"quantity\": 2.000,\n            \"totalAmount\": 2909.12", "\"quantity\": 1.000,\n            \"totalAmount\": 1454.56");
    assert_eq!(doc(&app, &partial).await["code"], 0);
    assert_eq!(account(&app).await["balance"].to_string(), "1000.00", "pending: nothing reversed yet");
    let sale = with(CONFIRM, "\"type\": \"bonus\"", "\"type\": \"other\"");
    assert_eq!(doc(&app, &sale).await["code"], 0);
    // Accrual 171.05 spread over the totals 2909.12 / 0 / 512.40 → 145.43 and 25.62; half of
    // position 1 (145.43 × 1/2 = 72.715 → 72.72, half away from zero) and all of position 3
    // (25.62) go back: 1000.00 + 171.05 − 72.72 − 25.62.
    assert_eq!(account(&app).await["balance"].to_string(), "1072.71");
    let docs = admin(&app, Method::GET, "/documents", None).await;
    assert!(docs.as_array().unwrap().iter().all(|d| d["state"] == "confirmed"), "{docs}");
    assert_balanced(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn tenants_are_chosen_by_key_or_prefix_and_isolated_loy_16() {
    let app = demo_app().await;
    let other = json!({"id": "other", "loyalty": {"access_key": "secret-2", "rule": []}});
    assert_eq!(app.client.put_tenant("other", &other).await.unwrap().status, StatusCode::OK);
    // The demo client is not visible to the other tenant: code 4 there.
    let (status, v) = post(&app, "/frontol/client", CLIENT, Some("secret-2")).await;
    assert_eq!((status, v["code"].clone()), (StatusCode::OK, json!(4)));
    let (status, _) = post(&app, "/frontol/client", CLIENT, Some("wrong")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The per-tenant prefix restricts the choice to that tenant (LOY-2: a path prefix in the
    // configured server URL, routed on the last segment).
    let (status, v) = post(&app, "/frontol/t/demo/client", CLIENT, Some(KEY)).await;
    assert_eq!((status, v["code"].clone()), (StatusCode::OK, json!(0)));
    let (status, _) = post(&app, "/frontol/t/other/client", CLIENT, Some(KEY)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn admin_api_manages_clients_balances_and_history() {
    let app = demo_app().await;
    let c = json!({"id": "c2", "name": "Иван", "phone": "+7 (900) 000-00-01", "cards": ["111", "222"]});
    let v = admin(&app, Method::PUT, "/clients", Some(c)).await;
    assert_eq!(v["created"], true);
    assert_eq!(v["client"]["phone"], "+79000000001");
    let v = admin(&app, Method::POST, "/adjustments", Some(json!({"client": "c2", "amount": "50.00", "note": "gift"}))).await;
    assert_eq!(v["account"]["balance"].to_string(), "50.00");
    // Both cards identify the client.
    for card in ["111", "222"] {
        let (_, v) = post(&app, "/frontol/client", &with(CLIENT, CARD, card), Some(KEY)).await;
        assert!(v["cashierInformation"][0]["text"].as_str().unwrap().contains("50.00"), "{v}");
    }
    let e = admin(&app, Method::GET, "/entries?client=c2", None).await;
    assert_eq!(e[0]["kind"], "adjustment");
    let rules = admin(&app, Method::GET, "/rules", None).await;
    assert!(rules.as_array().unwrap().iter().any(|r| r["kind"] == "accrual"));
    // A card of another client is a conflict.
    let r = app
        .client
        .send(app.client.request(Method::PUT, "/api/tenants/demo/loyalty/clients").bearer_auth(ADMIN_TOKEN).json(&json!({"id": "c3", "cards": [CARD]})))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.client.send(app.client.request(Method::GET, "/api/tenants/demo/loyalty/clients")).await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let one = admin(&app, Method::GET, "/audit?limit=1", None).await;
    let id = one[0]["id"].as_i64().unwrap();
    let rec = admin(&app, Method::GET, &format!("/audit?record={id}"), None).await;
    assert_eq!(rec[0]["id"], id);
    assert_balanced(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn stale_reservations_are_released_after_the_horizon_loy_84() {
    let mut config = test_config();
    config.server.demo = true;
    config.loyalty.hold_horizon_hours = 1;
    let app = spawn_app_with(config).await;
    assert_eq!(doc(&app, PAY).await["code"], 0);
    assert_eq!(account(&app).await["held"].to_string(), "600.00");
    // Not yet stale.
    assert_eq!(app.core.loyalty().release_stale_holds(10).await.unwrap(), 0);
    // The same engine with a clock two hours ahead: the worker's step releases it once.
    let later = kassa_core::Core::new(app.core.store.clone(), std::sync::Arc::new(kassa_core::ManualClock::new(kassa_core::Clock::now_ms(&kassa_core::SystemClock) + 2 * 3_600_000)))
        .with_loyalty(kassa_core::loyalty::Settings { hold_horizon_ms: 3_600_000, ..Default::default() });
    let mut worker = kassa_workers::loyalty::HoldExpiry { core: later.clone() };
    assert_eq!(kassa_workers::Worker::run_once(&mut worker).await.unwrap(), kassa_workers::Step::Idle);
    assert_eq!(later.loyalty().release_stale_holds(10).await.unwrap(), 0);
    assert_eq!(account(&app).await["held"].to_string(), "0.00");
    let flagged = admin(&app, Method::GET, "/audit?flagged=true", None).await;
    assert_eq!(flagged[0]["path"], "worker:loyalty-hold-expiry");
    assert_balanced(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn postgres_runs_the_document_life_cycle() {
    let mut config = test_config();
    config.server.demo = true;
    let Some(app) = spawn_app_pg(config).await else { return skip_pg("postgres_runs_the_document_life_cycle") };
    assert_eq!(doc(&app, CALC).await["code"], 0);
    let paid = doc(&app, PAY).await;
    assert_eq!(paid["code"], 0);
    assert_eq!(doc(&app, PAY).await, paid, "LOY-81 replay");
    assert_eq!(doc(&app, CONFIRM).await["code"], 0);
    assert_eq!(account(&app).await["balance"].to_string(), "571.05");
    assert_eq!(doc(&app, REFUND).await["code"], 0);
    assert_eq!(account(&app).await["balance"].to_string(), "1000.00");
    assert_balanced(&app).await;
    app.stop().await;
}

/// Random interleavings of calculate / payByBonus / cancel / confirm / refund, with replays,
/// on several documents of one client: the ledger balances after every sequence and the
/// balance equals the opening balance plus the sum of the entries.
#[test]
fn random_action_sequences_keep_the_ledger_balanced() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(demo_app());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 12, ..ProptestConfig::default() });
    let step = (0u8..6, 0usize..3, 1u32..400);
    let case = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&proptest::collection::vec(step, 1..25), |ops| {
            let case = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            rt.block_on(async {
                for (op, d, amount) in &ops {
                    let uid = format!("case{case}-doc{d}");
                    let refund_uid = format!("case{case}-refund{d}-{amount}");
                    let body = match op {
                        0 => with(CALC, SALE_UID, &uid),
                        1 => with(with(PAY, SALE_UID, &uid).as_str(), "\"amount\": 600.00", &format!("\"amount\": {amount}.00")),
                        2 => with(with(CANCEL, "947277c5-04d5-4ef4-9150-385214b42367", &uid).as_str(), "\"amount\": 600.00", &format!("\"amount\": {amount}.00")),
                        3 => with(with(CONFIRM, SALE_UID, &uid).as_str(), "\"amount\": 600.00", &format!("\"amount\": {amount}.00")),
                        4 => with(with(REFUND, SALE_UID, &uid).as_str(), "947277c5-04d5-4ef4-9150-385214b42367", &refund_uid),
                        _ => with(with(CONFIRM, SALE_UID, &uid).as_str(), "\"amount\": 3000.00", "\"amount\": 3001.00"),
                    };
                    let (status, v) = post(&app, "/frontol/document", &body, Some(KEY)).await;
                    assert_eq!(status, StatusCode::OK);
                    assert!([0, 5, 6].contains(&v["code"].as_i64().unwrap()), "{v}");
                }
                assert_balanced(&app).await;
                let entries = admin(&app, Method::GET, "/entries?client=demo-client&limit=1000", None).await;
                let sum: i64 = entries.as_array().unwrap().iter().map(|e| (e["balance_delta"].as_f64().unwrap() * 100.0).round() as i64).sum();
                let bal = (account(&app).await["balance"].as_f64().unwrap() * 100.0).round() as i64;
                assert_eq!(sum, bal);
            });
            Ok(())
        })
        .unwrap();
    rt.block_on(app.stop());
}

#[tokio::test]
async fn expect_100_continue_is_honoured_loy_4() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = demo_app().await;
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /frontol/client HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nAccept: application/json\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\nAuthorization: FrontolAuth {}\r\nContent-Length: {}\r\n\r\n",
        token(KEY, CLIENT.as_bytes()),
        CLIENT.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // LOY-4: the server invites the body (never 417) before the client sends it.
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut buf)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100 Continue"), "{}", String::from_utf8_lossy(&buf[..n]));
    tcp.write_all(CLIENT.as_bytes()).await.unwrap();
    let mut rest = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut rest)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&rest[..n]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn content_type_variants_and_unknown_headers_are_accepted_loy_5() {
    // LOY-5: with or without charset, another or no Content-Type, unknown headers ignored.
    let app = demo_app().await;
    for ct in [Some("application/json"), Some("application/json; charset=utf-8"), Some("text/plain"), None] {
        let mut req = app.client.request(Method::POST, "/frontol/client").body(CLIENT).header("X-Unknown", "1");
        req = req.header("Authorization", format!("FrontolAuth {}", token(KEY, CLIENT.as_bytes())));
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        let r = app.client.send(req).await.unwrap();
        assert_eq!((r.status, r.body["code"].clone()), (StatusCode::OK, json!(0)), "{ct:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_unstorable_confirm_is_not_answered_loy_10() {
    let app = demo_app().await;
    app.core.store.close().await;
    // LOY-10: no answer at all for a confirm, so the POS queues it; never code 0.
    let req = app
        .client
        .request(Method::POST, "/frontol/document")
        .header("Authorization", format!("FrontolAuth {}", token(KEY, CONFIRM.as_bytes())))
        .body(CONFIRM);
    match app.client.send(req).await {
        Err(_) => {}
        Ok(r) => panic!("a confirm that was not stored got an answer: {} {}", r.status, r.body),
    }
    // LOY-9: other requests get a server error with a text.
    let r = reqwest::Client::new()
        .post(app.url("/frontol/client"))
        .header("Authorization", format!("FrontolAuth {}", token(KEY, CLIENT.as_bytes())))
        .body(CLIENT)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_ne!(v["code"], 0);
    }
}

#[tokio::test]
async fn date_time_forms_and_unknown_fields_are_accepted_loy_18_loy_24() {
    let app = demo_app().await;
    // LOY-18: ±hh:mm, ±hhmm, Z, no offset, far past and future are all accepted.
    for dt in ["2018-07-16T10:18:44.955+03:00", "2017-10-09T18:31:42.201+0300", "2017-10-09T18:31:42Z", "2017-10-09T18:31:42", "1990-01-01T00:00:00+03:00", "2099-01-01T00:00:00+03:00"] {
        let v = doc(&app, &with(CALC, "2017-10-09T18:31:42.201+0300", dt)).await;
        assert_eq!(v["code"], 0, "{dt}: {v}");
    }
    // LOY-24: unknown fields are ignored.
    let v = doc(&app, &with(CALC, "\"action\": \"calculate\",", "\"action\": \"calculate\", \"futureField\": {\"x\": [1]},")).await;
    assert_eq!(v["code"], 0);
    // LOY-43: totals that do not follow the previous stage are not rejected.
    let v = doc(&app, &with(PAY, "\"totalAmount\": 3500.00", "\"totalAmount\": 3400.00")).await;
    assert_eq!(v["code"], 0, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn the_phone_identifies_the_client_through_the_document_loy_67() {
    // LOY-67: calculate, payByBonus and confirm identified by mobilePhone alone.
    let app = demo_app().await;
    let phone = |b: &str| with(b, &format!("\"card\": \"{CARD}\""), "\"mobilePhone\": \"+79211022546\"");
    assert_eq!(doc(&app, &phone(CALC)).await["code"], 0);
    assert_eq!(doc(&app, &phone(PAY)).await["code"], 0);
    assert_eq!(doc(&app, &phone(CONFIRM)).await["code"], 0);
    let acc = account(&app).await;
    assert_eq!((acc["balance"].to_string(), acc["held"].to_string()), ("571.05".to_owned(), "0.00".to_owned()), "captured, accrued");
    app.stop().await;
}

#[tokio::test]
async fn a_late_confirm_from_the_offline_queue_settles_once_loy_54_loy_74_loy_75() {
    let app = demo_app().await;
    assert_eq!(doc(&app, PAY).await["code"], 0);
    // LOY-54, LOY-74: the confirm arrives a day later (new dateTime), and is resent again when
    // the POS did not see the answer; LOY-75: only confirms are queued.
    let late = with(CONFIRM, "2017-10-09T18:31:42.201+0300", "2017-10-10T18:31:42.201+0300");
    let first = doc(&app, &late).await;
    assert_eq!(first["code"], 0);
    let again = doc(&app, &with(CONFIRM, "2017-10-09T18:31:42.201+0300", "2017-10-10T20:00:00.000+0300")).await;
    assert_eq!(again, first);
    let acc = account(&app).await;
    assert_eq!((acc["balance"].to_string(), acc["held"].to_string()), ("571.05".to_owned(), "0.00".to_owned()));
    let entries = admin(&app, Method::GET, "/entries?client=demo-client", None).await;
    let kinds: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["accrual", "capture", "hold", "adjustment"], "one capture, one accrual");
    assert_balanced(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn concurrent_replays_and_refunds_settle_exactly_once_loy_80_loy_73() {
    let app = demo_app().await;
    let sale = with(CONFIRM, "\"type\": \"bonus\"", "\"type\": \"other\"");
    // LOY-80: eight copies of one confirm at once → one accrual, eight identical answers.
    let answers = futures_join(&app, vec![sale.clone(); 8]).await;
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(account(&app).await["balance"].to_string(), "1171.05");
    // LOY-73: four one-unit refunds of position 1 (two units sold) at once: exactly the line's
    // accrual share comes back, the excess is flagged.
    let one = |n: usize| {
        let r = with(REFUND, "947277c5-04d5-4ef4-9150-385214b42367", &format!("refund-{n}"));
        let r = with(&r, "\"quantity\": 2.000,\n            \"totalAmount\": 2909.12", "\"quantity\": 1.000,\n            \"totalAmount\": 1454.56");
        // Only position 1 is refunded.
        let cut = r.find("        {\n            \"index\": 2").unwrap();
        let end = r.find("    ],\n    \"discardedAmount\"").unwrap();
        format!("{}{}", &r[..cut], &r[end..])
    };
    let answers = futures_join(&app, (0..4).map(one).collect()).await;
    assert!(answers.iter().all(|a| a["code"] == 0), "{answers:?}");
    // 171.05 accrued; position 1's share is 145.43.
    assert_eq!(account(&app).await["balance"].to_string(), "1025.62");
    let flagged = admin(&app, Method::GET, "/audit?flagged=true", None).await;
    assert_eq!(flagged.as_array().unwrap().iter().filter(|a| a["note"].as_str().unwrap().contains("exceed")).count(), 2);
    assert_balanced(&app).await;
    app.stop().await;
}

async fn futures_join(app: &TestApp, bodies: Vec<String>) -> Vec<Value> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let c = app.client.clone();
            tokio::spawn(async move {
                let req = c
                    .request(Method::POST, "/frontol/document")
                    .header("Authorization", format!("FrontolAuth {}", token(KEY, b.as_bytes())))
                    .body(b);
                c.send(req).await.unwrap().body
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn validation_codes_reach_the_sms_webhook_once_loy_69() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", hook.local_addr().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = hook.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                // Read until the JSON body is complete.
                while got < buf.len() {
                    let n = s.read(&mut buf[got..]).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got += n;
                    if String::from_utf8_lossy(&buf[..got]).trim_end().ends_with('}') {
                        break;
                    }
                }
                s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await.unwrap();
                tx.send(String::from_utf8_lossy(&buf[..got]).into_owned()).unwrap();
            });
        }
    });
    let mut config = test_config();
    config.server.demo = true;
    config.loyalty.sms_webhook_url = Some(url);
    let app = spawn_app_with(config).await;
    let phone = with(CALC, &format!("\"card\": \"{CARD}\""), "\"mobilePhone\": \"+79211022546\"");
    let v = doc(&app, &phone).await;
    let code = v["client"]["validationCode"].as_str().unwrap().to_owned();
    let req = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
    assert!(req.starts_with("POST /sms HTTP/1.1"), "{req}");
    assert!(req.contains("+79211022546") && req.contains(&code), "{req}");
    // The repeated precheck reuses the code and sends nothing new.
    assert_eq!(doc(&app, &phone).await["client"]["validationCode"], code.as_str());
    assert!(tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv()).await.is_err(), "sent once");
    app.stop().await;
}
