//! The Frontol event collector through its real HTTP interfaces (frontol-events.md): every
//! server-side test vector (TV-E1..TV-E10) against `kassa serve --demo`, bad input, ordering,
//! tenant resolution, the query API, the live stream and the loss-prevention rules.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use kassa_client::Kassa;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ORG: &str = "ООО Ромашка";

const TV_E1: &str = r#"{"organization":"ООО Ромашка","businessUnit":"Магазин на ул. Ленина","workPlace":"POS 12","events":[{"event":"ACT_ACTIVITY","groupId":"4f2c482a","dateTime":"2017-10-09T18:31:42.201+0300","cashierName":"Иванов Иван Иванович","index":"0","input":""}]}"#;

/// EX-SINGLE exactly as printed in the source (EVT-33).
const EX_SINGLE: &str = r#"{
 organization:"ООО Ромашка",
 businessUnit:"Магазин на ул. Ленина",
 workPlace:"POS 12",
 events:
 [
  {
   event:"ACT_ACTIVITY",
   groupId:"4f2c482a",
   dateTime:"2017-10-09T18:31:42.201+0300",
   cashierName:"Иванов Иван Иванович",
   index:"0",
   input:""
  }
 ]
}"#;

/// EX-MULTI exactly as printed in the source (EVT-33).
const EX_MULTI: &str = r#"{
 organization: "ООО Ромашка",
 businessUnit: "Магазин на ул. Ленина",
 workPlace: "POS 12",
 events:
 [
  {
   event: "REG_DOCUMENT_OPEN",
   groupId: "71a06a2b",
   dateTime: "2017-10-09T18:31:45.899+0300",
   cashierName: "Иванов Иван Иванович",
   index:" 0",
   input: "",
   type: "receipt",
   shift:" 59",
   number:" 83",
   mode: "fiscal"
  },
  {
   event: "REG_POSITION_REGISTRATION",
   groupId: "71a06a2b",
   dateTime: "2017-10-09T18:32:15.311+0300",
   cashierName: "Иванов Иван Иванович",
   index:" 1",
   input: "",
   id:" 542",
   text: "активия 125г клубника",
   type: "goods",
   barcode: "4601735000011",
   price:" 59.99",
   quantity:" 2.000",
   sum:" 119.98",
   discount:" 0.00"
  }
 ]
}"#;

async fn demo_app() -> TestApp {
    let mut config = test_config();
    config.server.demo = true;
    spawn_app_with(config).await
}

fn assert_ok(r: &kassa_client::Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "OK", "EVT-6: Latin OK");
    let code = r.body["code"].as_str().expect("EVT-5: code is a string").to_owned();
    assert!(!code.is_empty());
    code
}

fn envelope(wp: &str, events: Vec<Value>) -> Value {
    json!({"organization": ORG, "businessUnit": "Магазин на ул. Ленина", "workPlace": wp, "events": events})
}

fn event(name: &str, group: &str, time: &str, extra: Value) -> Value {
    let mut e = json!({"event": name, "groupId": group, "dateTime": time, "cashierName": "Кассир", "index": 0, "input": ""});
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    e
}

async fn wp_events(c: &Kassa, wp: &str) -> Vec<Value> {
    c.all_events(&[("workPlace", wp)]).await.unwrap()
}

/// TV-E1..TV-E5 in order on one server, as the spec lists them.
async fn vectors_e1_to_e5(app: &TestApp) {
    let c = &app.client;
    // TV-E1, EVT-1, EVT-2, EVT-3, EVT-4, EVT-5, EVT-7: strict JSON, no authentication, `200` OK.
    let resp = reqwest::Client::new()
        .post(app.url("/frontol/events"))
        .header("content-type", "application/json")
        .body(TV_E1)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "EVT-3");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "OK");
    let first_code = body["code"].as_str().unwrap().to_owned();
    let stored = wp_events(c, "POS 12").await;
    assert_eq!(stored.len(), 1);
    let e = &stored[0];
    assert_eq!(e["event"], "ACT_ACTIVITY");
    assert_eq!(e["group"], "activity");
    assert_eq!(e["fields"]["index"], 0);
    assert_eq!(e["tenant"], "demo", "the demo tenant declares ООО Ромашка");
    assert_eq!(e["code"], first_code.as_str());
    assert_eq!(e["dateTime"], "2017-10-09T15:31:42.201+00:00");
    assert_eq!(e["raw"]["index"], "0", "EVT-37: raw kept");

    // TV-E2, EVT-33, EVT-34: the source's example verbatim (unquoted keys); deduplicated.
    let code = assert_ok(&c.post_events_raw(EX_SINGLE).await.unwrap());
    assert_ne!(code, first_code, "EVT-5: unique per request");
    assert_eq!(wp_events(c, "POS 12").await.len(), 1, "EVT-39: same content as TV-E1");

    // TV-E3, EVT-35, EVT-36: several events with numeric strings.
    assert_ok(&c.post_events_raw(EX_MULTI).await.unwrap());
    let stored = wp_events(c, "POS 12").await;
    assert_eq!(stored.len(), 3);
    let (open, pos) = (&stored[1], &stored[2]);
    assert_eq!(open["event"], "REG_DOCUMENT_OPEN");
    assert_eq!(open["fields"]["index"], 0);
    assert_eq!(open["fields"]["type"], "receipt");
    assert_eq!(open["fields"]["shift"], 59);
    assert_eq!(open["fields"]["number"], 83);
    assert_eq!(open["fields"]["mode"], "fiscal");
    assert_eq!(open["groupId"], "71a06a2b");
    assert_eq!(pos["event"], "REG_POSITION_REGISTRATION");
    assert_eq!(pos["fields"]["index"], 1);
    assert_eq!(pos["fields"]["id"], "542");
    assert_eq!(pos["raw"]["id"], " 542");
    assert_eq!(pos["fields"]["type"], "goods");
    assert_eq!(pos["fields"]["barcode"], "4601735000011");
    assert_eq!(pos["fields"]["price"].to_string(), "59.99");
    assert_eq!(pos["fields"]["quantity"].to_string(), "2.000");
    assert_eq!(pos["fields"]["sum"].to_string(), "119.98");
    assert_eq!(pos["fields"]["discount"].to_string(), "0.00");
    assert!(open["id"].as_i64() < pos["id"].as_i64(), "order: event 1 before event 2");
    assert_eq!(pos["warnings"], json!([]));

    // TV-E4, EVT-39: replay → 200 with a fresh code, nothing new.
    let again = assert_ok(&c.post_events_raw(EX_MULTI).await.unwrap());
    assert_ne!(again, code);
    assert_eq!(wp_events(c, "POS 12").await.len(), 3);

    // TV-E5: strict JSON numbers, quoted keys → identical values, deduplicated against TV-E3.
    let strict = envelope(
        "POS 12",
        vec![
            json!({"event":"REG_DOCUMENT_OPEN","groupId":"71a06a2b","dateTime":"2017-10-09T18:31:45.899+0300","cashierName":"Иванов Иван Иванович","index":0,"input":"","type":"receipt","shift":59,"number":83,"mode":"fiscal"}),
            json!({"event":"REG_POSITION_REGISTRATION","groupId":"71a06a2b","dateTime":"2017-10-09T18:32:15.311+0300","cashierName":"Иванов Иван Иванович","index":1,"input":"","id":"542","text":"активия 125г клубника","type":"goods","barcode":"4601735000011","price":59.99,"quantity":2.000,"sum":119.98,"discount":0.00}),
        ],
    );
    assert_ok(&c.post_events(&strict).await.unwrap());
    assert_eq!(wp_events(c, "POS 12").await.len(), 3);
}

#[tokio::test]
async fn tv_e1_to_e5_against_the_demo_server() {
    let app = demo_app().await;
    vectors_e1_to_e5(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn tv_e1_to_e5_on_postgres() {
    let mut config = test_config();
    config.server.demo = true;
    let Some(app) = spawn_app_pg(config).await else { return skip_pg("tv_e1_to_e5_on_postgres") };
    vectors_e1_to_e5(&app).await;
    app.stop().await;
}

/// TV-E6, EVT-18, EVT-24, EVT-29: aliases accepted and normalised.
#[tokio::test]
async fn tv_e6_aliases() {
    let app = demo_app().await;
    let t = "2017-10-09T18:31:42.201+03:00";
    let body = envelope(
        "POS 6",
        vec![
            event("SYS_LOGIN_", "1", t, json!({"type": "password"})),
            event("REG_PAYMENT_REGISTRATION", "2", t, json!({"type": "credit card", "mode": "fiscal", "payment": " 100.00"})),
            event("REG_DOCUMENT_OPEN", "3", t, json!({"type": "editingEmployees"})),
        ],
    );
    assert_ok(&app.client.post_events(&body).await.unwrap());
    let stored = wp_events(&app.client, "POS 6").await;
    assert_eq!(stored[0]["event"], "SYS_LOGIN");
    assert_eq!(stored[0]["raw"]["event"], "SYS_LOGIN_");
    assert_eq!(stored[1]["fields"]["type"], "credit card");
    assert_eq!(stored[1]["fields"]["payment"].to_string(), "100.00");
    assert_eq!(stored[2]["fields"]["type"], "editingEmloyees");
    // `creditCard` is the same payment (EVT-24): a resend with that spelling is a duplicate.
    let body = envelope("POS 6", vec![event("REG_PAYMENT_REGISTRATION", "2", t, json!({"type": "creditCard", "mode": "fiscal", "payment": 100}))]);
    assert_ok(&app.client.post_events(&body).await.unwrap());
    assert_eq!(wp_events(&app.client, "POS 6").await.len(), 3);
    let r = app.client.events(&[("event", "SYS_LOGIN")]).await.unwrap();
    assert_eq!(r.body["events"].as_array().unwrap().len(), 1, "filter by the normalised name");
    app.stop().await;
}

/// TV-E7, EVT-15, EVT-32, EVT-37: an unknown event is stored raw with group "unknown".
#[tokio::test]
async fn tv_e7_unknown_event() {
    let app = demo_app().await;
    let e = json!({"event":"FUNC_SOMETHING","groupId":"0000abcd","dateTime":"2017-10-09T18:31:42.201+03:00","cashierName":"","index":0,"input":"","weird":{"x":1}});
    assert_ok(&app.client.post_events(&envelope("POS 7", vec![e.clone()])).await.unwrap());
    let stored = wp_events(&app.client, "POS 7").await;
    assert_eq!(stored[0]["group"], "unknown");
    assert_eq!(stored[0]["raw"], e);
    let warnings = stored[0]["warnings"].to_string();
    assert!(warnings.contains("unknown event") && warnings.contains("unknown field 'weird'"), "{warnings}");
    app.stop().await;
}

/// TV-E8, EVT-10: all four timestamp forms accepted; the first three are one instant.
#[tokio::test]
async fn tv_e8_timestamps() {
    let app = demo_app().await;
    let times = ["2017-10-09T18:31:42.201+0300", "2017-10-09T18:31:42.201+03:00", "2017-10-09T15:31:42.201Z", "2017-10-09T18:31:42+03:00"];
    let events = times.iter().enumerate().map(|(i, t)| event("ACT_ACTIVITY", &format!("g{i}"), t, json!({}))).collect();
    assert_ok(&app.client.post_events(&envelope("POS 8", events)).await.unwrap());
    let stored = wp_events(&app.client, "POS 8").await;
    assert_eq!(stored.len(), 4);
    let by_group = |g: &str| stored.iter().find(|e| e["groupId"] == g).unwrap()["dateTime"].clone();
    assert_eq!(by_group("g0"), "2017-10-09T15:31:42.201+00:00");
    assert_eq!(by_group("g1"), by_group("g0"));
    assert_eq!(by_group("g2"), by_group("g0"));
    assert_eq!(by_group("g3"), "2017-10-09T15:31:42.000+00:00");
    assert!(stored.iter().all(|e| e["warnings"] == json!([])));
    // EVT-10: old and future timestamps are not rejected.
    let body = envelope("POS 8", vec![event("ACT_ACTIVITY", "old", "1999-01-01T00:00:00Z", json!({})), event("ACT_ACTIVITY", "new", "2099-01-01T00:00:00Z", json!({}))]);
    assert_ok(&app.client.post_events(&body).await.unwrap());
    assert_eq!(wp_events(&app.client, "POS 8").await.len(), 6);
    app.stop().await;
}

/// TV-E9, EVT-8, EVT-11: an empty batch is OK; a body that is not JSON is `400` ERROR.
#[tokio::test]
async fn tv_e9_empty_batch_and_bad_body() {
    let app = demo_app().await;
    assert_ok(&app.client.post_events_raw(r#"{"organization":"o","businessUnit":"b","workPlace":"w","events":[]}"#).await.unwrap());
    let r = app.client.post_events_raw("not json").await.unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["status"], "ERROR");
    assert!(!r.body["code"].as_str().unwrap().is_empty());
    assert!(!r.body["error"].as_str().unwrap().is_empty());
    app.stop().await;
}

/// TV-E10, EVT-41: 500 and 501 events are accepted; beyond the hard limit is `413`.
#[tokio::test]
async fn tv_e10_batch_sizes() {
    let app = demo_app().await;
    let many = |n: usize, wp: &str| {
        envelope(wp, (0..n).map(|i| event("ACT_ACTIVITY", &format!("{i:08x}"), "2017-10-09T18:31:42.201+03:00", json!({"index": i}))).collect())
    };
    assert_ok(&app.client.post_events(&many(500, "POS 500")).await.unwrap());
    assert_ok(&app.client.post_events(&many(501, "POS 501")).await.unwrap());
    assert_eq!(wp_events(&app.client, "POS 500").await.len(), 500);
    assert_eq!(wp_events(&app.client, "POS 501").await.len(), 501);
    let r = app.client.post_events(&many(10_001, "POS big")).await.unwrap();
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["status"], "ERROR");
    assert!(wp_events(&app.client, "POS big").await.is_empty(), "EVT-38: nothing stored");
    app.stop().await;
}

/// EVT-8, EVT-35, EVT-37: bad input gets the spec's answers — never a 500.
#[tokio::test]
async fn bad_input_never_fails_the_server() {
    let app = demo_app().await;
    let bad_envelopes = ["", "[]", "{}", "{events:5}", "{\"events\":{}}", "null", "{events:[", "\u{0}", "{\"events\":[]", &"[".repeat(100_000)];
    for body in bad_envelopes {
        let r = app.client.post_events_raw(body).await.unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body:.40}");
        assert_eq!(r.body["status"], "ERROR");
    }
    let r = app.client.send(app.client.request(reqwest::Method::POST, "/frontol/events").body(vec![0xffu8, 0xfe])).await.unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Envelopes whose events are odd are stored and flagged, not rejected (EVT-37, EVT-11).
    let odd = r#"{events:[5, "x", null, {}, {event:7, index:"1.5", price:"abc", quantity:[1], dateTime:"soon"}, {event:"ACT_ACTIVITY", index:" 1e3"}]}"#;
    assert_ok(&app.client.post_events_raw(odd).await.unwrap());
    let stored = app.client.all_events(&[("tenant", "")]).await.unwrap();
    assert_eq!(stored.len(), 6);
    assert!(stored.iter().all(|e| !e["warnings"].as_array().unwrap().is_empty()));
    assert!(stored[0]["warnings"].to_string().contains("envelope field 'organization' is missing"));
    // Bodies over the size limit: `413`.
    let huge = format!("{{\"events\":[],\"x\":\"{}\"}}", "a".repeat(17 * 1024 * 1024));
    let r = app.client.post_events_raw(huge).await.unwrap();
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    app.stop().await;
}

/// EVT-11, EVT-14: tenants are resolved from the organization; an undeclared organization is
/// stored under no tenant and flagged; one tenant's filter never shows another's events.
#[tokio::test]
async fn tenant_resolution_by_organization() {
    let app = demo_app().await;
    let other = json!({"id": "t2", "events": {"organizations": ["ИП Петров"]}});
    assert_eq!(app.client.put_tenant("t2", &other).await.unwrap().status, StatusCode::OK);
    let t = "2017-10-09T18:31:42.201+03:00";
    for org in ["ИП Петров", "ООО Ромашка", "Никто"] {
        let body = json!({"organization": org, "businessUnit": "b", "workPlace": "w", "events": [event("ACT_ACTIVITY", "1", t, json!({}))]});
        assert_ok(&app.client.post_events(&body).await.unwrap());
    }
    let tenant = |t: &'static str| {
        let c = app.client.clone();
        async move { c.all_events(&[("tenant", t)]).await.unwrap() }
    };
    assert_eq!(tenant("t2").await.len(), 1);
    assert_eq!(tenant("t2").await[0]["organization"], "ИП Петров");
    assert_eq!(tenant("demo").await.len(), 1);
    let nobody = tenant("").await;
    assert_eq!(nobody.len(), 1);
    assert!(nobody[0]["warnings"].to_string().contains("not declared by any tenant"));
    app.stop().await;
}

/// EVT-40, EVT-47: events that arrive out of order are listed by occurrence time; the same
/// instant keeps arrival, then position in the request.
#[tokio::test]
async fn out_of_order_arrival_is_ordered_by_occurrence() {
    let app = demo_app().await;
    let late = envelope("POS 40", vec![event("REG_DOCUMENT_CLOSE", "d1", "2017-10-09T18:35:00.000+03:00", json!({"sum": "10.00"}))]);
    let backlog = envelope(
        "POS 40",
        vec![
            event("REG_DOCUMENT_OPEN", "d1", "2017-10-09T18:30:00.000+03:00", json!({"type": "receipt"})),
            event("REG_POSITION_REGISTRATION", "d1", "2017-10-09T18:31:00.000+03:00", json!({"index": 1})),
            event("REG_PAYMENT_MODE", "d1", "2017-10-09T18:31:00.000+03:00", json!({"index": 1})),
        ],
    );
    assert_ok(&app.client.post_events(&late).await.unwrap());
    assert_ok(&app.client.post_events(&backlog).await.unwrap());
    let names: Vec<Value> = wp_events(&app.client, "POS 40").await.iter().map(|e| e["event"].clone()).collect();
    assert_eq!(names, ["REG_DOCUMENT_OPEN", "REG_POSITION_REGISTRATION", "REG_PAYMENT_MODE", "REG_DOCUMENT_CLOSE"]);
    // The document timeline shows the same order (EVT-14).
    let tl = app.client.event_timeline("d1", &[("workPlace", "POS 40")]).await.unwrap();
    assert_eq!(tl.status, StatusCode::OK);
    let tl_names: Vec<Value> = tl.body["events"].as_array().unwrap().iter().map(|e| e["event"].clone()).collect();
    assert_eq!(tl_names, names);
    app.stop().await;
}

#[tokio::test]
async fn query_api_filters_pages_and_refuses_bad_parameters() {
    let app = demo_app().await;
    let mut events = Vec::new();
    for i in 0..30 {
        let name = if i % 3 == 0 { "REG_PAYMENT_MODE" } else { "ACT_ACTIVITY" };
        events.push(event(name, &format!("g{}", i % 2), &format!("2017-10-09T18:{:02}:00.000+03:00", i), json!({"index": i})));
    }
    assert_ok(&app.client.post_events(&envelope("POS Q", events)).await.unwrap());
    let c = &app.client;
    let count = |r: kassa_client::Reply| r.body["events"].as_array().map(Vec::len).unwrap_or(usize::MAX);
    assert_eq!(count(c.events(&[("organization", ORG), ("businessUnit", "Магазин на ул. Ленина"), ("workPlace", "POS Q")]).await.unwrap()), 30);
    assert_eq!(count(c.events(&[("event", "REG_PAYMENT_MODE")]).await.unwrap()), 10);
    assert_eq!(count(c.events(&[("groupId", "g1"), ("workPlace", "POS Q")]).await.unwrap()), 15);
    let range = [("from", "2017-10-09T18:10:00+03:00"), ("to", "2017-10-09T15:20:00Z")];
    assert_eq!(count(c.events(&range).await.unwrap()), 10);
    // Pages of 7 with the cursor.
    let first = c.events(&[("limit", "7"), ("workPlace", "POS Q")]).await.unwrap();
    assert_eq!(count(first.clone()), 7);
    let next = first.body["next"].as_str().unwrap();
    let second = c.events(&[("limit", "7"), ("workPlace", "POS Q"), ("after", next)]).await.unwrap();
    assert_eq!(second.body["events"][0]["fields"]["index"], 7);
    assert_eq!(c.all_events(&[("workPlace", "POS Q")]).await.unwrap().len(), 30);
    for bad in [[("limit", "0")], [("limit", "5000")], [("from", "yesterday")], [("after", "x")], [("workplace", "typo")], [("flagged", "yes")]] {
        let r = c.events(&bad).await.unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(r.body["error"]["code"], "invalid");
    }
    let anon = Kassa::new(c.base());
    assert_eq!(anon.events(&[]).await.unwrap().status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A sale with the patterns loss-prevention users watch for; flags in the query API.
fn suspicious_sale(wp: &str) -> Value {
    let t = |s: u32| format!("2017-10-09T19:00:{s:02}.000+03:00");
    envelope(
        wp,
        vec![
            event("REG_DOCUMENT_OPEN", "s1", &t(0), json!({"type": "receipt", "shift": 1, "number": 2, "mode": "fiscal"})),
            event("REG_POSITION_REGISTRATION", "s1", &t(1), json!({"index": 1, "price": "10.00", "quantity": 1, "sum": "10.00"})),
            event("REG_CARD_REGISTRATION", "s1", &t(2), json!({"type": "clientCard", "barcode": "2000000000015"})),
            event("REG_PAYMENT_MODE", "s1", &t(3), json!({})),
            event("REG_POSITION_CANCEL", "s1", &t(4), json!({"index": 1})),
            event("REG_DOCUMENT_CANCEL", "s1", &t(5), json!({"sum": "0.00"})),
            event("SYS_OPEN_MONEY_BOX", "m1", &t(6), json!({"type": "manual"})),
            event("SYS_OPEN_MONEY_BOX", "s1", &t(6), json!({"type": "manual"})),
        ],
    )
}

#[tokio::test]
async fn loss_prevention_rules_flag_events_and_are_configurable_per_tenant() {
    let app = demo_app().await;
    let c = &app.client;
    let rules = c.event_rules("demo").await.unwrap();
    assert_eq!(rules.status, StatusCode::OK);
    assert!(rules.body["rules"].as_array().unwrap().iter().all(|r| r["enabled"] == true));
    assert_ok(&c.post_events(&suspicious_sale("POS LP")).await.unwrap());
    let flagged = c.all_events(&[("workPlace", "POS LP"), ("flagged", "true")]).await.unwrap();
    let got: Vec<(String, Value)> = flagged.iter().map(|e| (e["event"].as_str().unwrap().to_owned(), e["flags"].clone())).collect();
    assert_eq!(
        got,
        [
            ("REG_POSITION_CANCEL".to_owned(), json!(["position_cancel_after_payment"])),
            ("REG_DOCUMENT_CANCEL".to_owned(), json!(["document_cancel_after_card"])),
            ("SYS_OPEN_MONEY_BOX".to_owned(), json!(["money_box_without_document"])),
        ]
    );
    // The document context is read from the store: a cancel arriving in a later request is flagged.
    let later = envelope("POS LP2", vec![event("REG_PAYMENT_MODE", "x", "2017-10-09T19:00:00Z", json!({}))]);
    assert_ok(&c.post_events(&later).await.unwrap());
    let later = envelope("POS LP2", vec![event("REG_POSITION_CANCEL", "x", "2017-10-09T19:01:00Z", json!({}))]);
    assert_ok(&c.post_events(&later).await.unwrap());
    assert_eq!(c.all_events(&[("workPlace", "POS LP2"), ("flagged", "true")]).await.unwrap().len(), 1);
    // Switched off for the tenant: no longer flagged.
    let r = c.put_event_rules("demo", &json!({"rules": {"position_cancel_after_payment": false, "money_box_without_document": false}})).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["rules"].as_array().unwrap().iter().filter(|r| r["enabled"] == false).count(), 2);
    assert_ok(&c.post_events(&suspicious_sale("POS LP3")).await.unwrap());
    let flagged = c.all_events(&[("workPlace", "POS LP3"), ("flagged", "true")]).await.unwrap();
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["flags"], json!(["document_cancel_after_card"]));
    // Unknown rule, unknown tenant, bad body.
    assert_eq!(c.put_event_rules("demo", &json!({"rules": {"nope": true}})).await.unwrap().status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.put_event_rules("demo", &json!({"x": 1})).await.unwrap().status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(c.event_rules("ghost").await.unwrap().status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// Reads SSE messages until `n` `data:` lines of the wanted kinds arrived.
async fn read_sse(resp: reqwest::Response, n: usize) -> Vec<(String, Value)> {
    let mut resp = resp;
    let (mut buf, mut out) = (String::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk()).await.expect("SSE message in time").unwrap().expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let msg: String = buf.drain(..end + 2).collect();
            let kind = msg.lines().find_map(|l| l.strip_prefix("event:")).map(|s| s.trim().to_owned());
            let data = msg.lines().find_map(|l| l.strip_prefix("data:")).map(|s| serde_json::from_str(s.trim()).unwrap());
            if let (Some(k), Some(d)) = (kind, data) {
                out.push((k, d));
            }
        }
    }
    out
}

#[tokio::test]
async fn live_stream_sends_new_events_with_filters_and_flags() {
    let app = demo_app().await;
    let resp = app.client.event_stream(&[("workPlace", "POS LIVE")]).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    // Another workplace is filtered out; a replay is not sent twice.
    assert_ok(&app.client.post_events(&envelope("POS OTHER", vec![event("ACT_ACTIVITY", "1", "2017-10-09T18:00:00Z", json!({}))])).await.unwrap());
    assert_ok(&app.client.post_events(&suspicious_sale("POS LIVE")).await.unwrap());
    assert_ok(&app.client.post_events(&suspicious_sale("POS LIVE")).await.unwrap());
    assert_ok(&app.client.post_events(&envelope("POS LIVE", vec![event("ACT_NO_ACTIVITY", "z", "2017-10-09T20:00:00Z", json!({}))])).await.unwrap());
    let got = read_sse(resp, 9).await;
    let names: Vec<&str> = got.iter().map(|(_, d)| d["event"].as_str().unwrap()).collect();
    assert_eq!(names.last(), Some(&"ACT_NO_ACTIVITY"), "the replay sent nothing: {names:?}");
    assert!(got.iter().all(|(_, d)| d["workPlace"] == "POS LIVE"));
    let flagged: Vec<&str> = got.iter().filter(|(k, _)| k == "flagged").map(|(_, d)| d["event"].as_str().unwrap()).collect();
    assert_eq!(flagged, ["REG_POSITION_CANCEL", "REG_DOCUMENT_CANCEL", "SYS_OPEN_MONEY_BOX"]);
    let bad = app.client.event_stream(&[("nope", "1")]).await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

/// EVT-12, EVT-13, EVT-16..EVT-31: one event of every documented kind with its documented
/// fields is stored without warnings, with integers, exact amounts and strings normalised.
#[tokio::test]
async fn catalogue_every_documented_event_with_its_fields() {
    let app = demo_app().await;
    let t = |s: u32| format!("2017-10-09T18:{s:02}:00.000+03:00");
    let money = json!({"sum": " 119.98", "discount": "0.00", "sumPayments": 120, "change": "-0.02"});
    let events = vec![
        event("ACT_ACTIVITY", "a1", &t(0), json!({})),                                                       // EVT-16
        event("ACT_NO_ACTIVITY", "a2", &t(1), json!({})),                                                    // EVT-16
        event("SYS_SESSION_START", "s1", &t(2), json!({"text": "Frontol 6.20.0"})),                          // EVT-26
        event("SYS_LOGIN_BEGIN", "s2", &t(3), json!({})),                                                    // EVT-27
        event("SYS_LOGIN", "s2", &t(4), json!({"type": "scanner"})),                                         // EVT-28
        event("REG_DOCUMENT_OPEN", "d1", &t(5), json!({"type": "receipt", "shift": " 59", "number": 83, "mode": "nonFiscal"})), // EVT-17
        event("REG_POSITION_REGISTRATION", "d1", &t(6), json!({"index": 1, "id": "542", "text": "т", "type": "exciseAlcohol", "barcode": "1", "price": "59.99", "quantity": "2", "sum": "119.98", "discount": "0"})), // EVT-21
        event("REG_POSITION_EDIT", "d1", &t(7), json!({"index": 1, "type": "goods", "quantity": "1.5"})),    // EVT-21
        event("REG_CARD_REGISTRATION", "d1", &t(8), json!({"type": "couponDocument", "barcode": "777"})),    // EVT-25
        event("REG_CARD_CANCEL", "d1", &t(9), json!({"type": "couponDocument", "barcode": "777"})),          // EVT-25
        event("REG_SUPERVISOR_MODE", "d1", &t(10), json!({})),                                               // EVT-22
        event("REG_REGISTRATION_MODE", "d1", &t(11), json!({})),                                             // EVT-22
        event("REG_PAYMENT_MODE", "d1", &t(12), json!({})),                                                  // EVT-22
        event("REG_PAYMENT_REGISTRATION", "d1", &t(13), json!({"text": "Наличные", "type": "cash", "mode": "fiscal", "payment": "120", "sum": "119.98", "discount": 0, "sumPayments": 120, "change": "0.02"})), // EVT-23
        event("SYS_OPEN_MONEY_BOX", "d1", &t(14), json!({"type": "auto"})),                                  // EVT-30
        event("REG_DOCUMENT_CLOSE", "d1", &t(15), money.clone()),                                            // EVT-19
        event("REG_DOCUMENT_OPEN", "d2", &t(16), json!({"type": "payOut"})),                                 // EVT-17
        event("REG_DOCUMENT_DEFER", "d2", &t(17), json!({"sum": "500"})),                                    // EVT-19
        event("REG_DOCUMENT_OPEN_DEFER_RESTORE", "d2", &t(18), json!({"type": "payOut"})),                   // EVT-17
        event("REG_DOCUMENT_CANCEL", "d2", &t(19), json!({"sum": "500"})),                                   // EVT-19
        event("REG_DOCUMENT_CLOSE", "d3", &t(20), money.clone()),                                            // EVT-20: open comes later
        event("ERR_USER_ERROR", "e1", &t(22), json!({"text": "Неверный код", "number": " 0"})),              // EVT-31
        event("ERR_DEVICE_ERROR", "e2", &t(23), json!({"text": "Нет бумаги", "number": 3})),                 // EVT-31
        event("SYS_SESSION_END", "s3", &t(24), json!({"text": "Frontol 6.20.0"})),                           // EVT-26
    ];
    assert_ok(&app.client.post_events(&envelope("POS CAT", events)).await.unwrap());
    // EVT-20: the opening of d3 arrives later, in another request, with an undocumented type.
    let late = envelope("POS CAT", vec![event("REG_DOCUMENT_OPEN", "d3", "2017-10-09T18:19:30.000+03:00", json!({"type": "refundCredit"}))]);
    assert_ok(&app.client.post_events(&late).await.unwrap());
    let stored = wp_events(&app.client, "POS CAT").await;
    assert_eq!(stored.len(), 25);
    for e in &stored {
        assert_eq!(e["warnings"], json!([]), "{e}");
        // EVT-12: the common fields are there on every event.
        for f in ["event", "groupId", "dateTime", "cashierName", "index", "input"] {
            assert!(e["fields"].get(f).is_some(), "{f} in {e}");
        }
    }
    let get = |name: &str| stored.iter().find(|e| e["event"] == name).unwrap()["fields"].clone();
    let groups: std::collections::BTreeSet<&str> = stored.iter().map(|e| e["group"].as_str().unwrap()).collect();
    assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["activity", "error", "registration", "system"]); // EVT-15
    assert_eq!(get("REG_DOCUMENT_OPEN")["shift"], 59); // EVT-13: integer
    assert_eq!(get("REG_DOCUMENT_OPEN")["mode"], "nonFiscal");
    assert_eq!(get("REG_POSITION_EDIT")["quantity"].to_string(), "1.500"); // EVT-13: number
    assert_eq!(get("REG_PAYMENT_REGISTRATION")["payment"].to_string(), "120.00");
    assert_eq!(get("REG_DOCUMENT_CLOSE")["change"].to_string(), "-0.02"); // EVT-19: negative = still due
    assert_eq!(get("REG_DOCUMENT_CLOSE")["sumPayments"].to_string(), "120.00");
    assert_eq!(get("ERR_USER_ERROR")["number"], 0); // EVT-31: 0 = unknown code
    assert_eq!(get("SYS_LOGIN")["type"], "scanner");
    assert_eq!(get("SYS_SESSION_START")["text"], "Frontol 6.20.0");
    // EVT-20: the timeline gives the type of the document from its opening event.
    let tl = app.client.event_timeline("d3", &[("workPlace", "POS CAT")]).await.unwrap();
    assert_eq!(tl.body["documentType"], "refundCredit");
    assert_eq!(tl.body["events"][0]["event"], "REG_DOCUMENT_OPEN", "ordered by occurrence");
    let tl = app.client.event_timeline("d2", &[("workPlace", "POS CAT")]).await.unwrap();
    assert_eq!(tl.body["documentType"], "payOut");
    assert_eq!(tl.body["events"].as_array().unwrap().len(), 4);
    // Undocumented enum values are kept and flagged, never rejected (EVT-17, EVT-37).
    let odd = envelope("POS CAT2", vec![event("REG_DOCUMENT_OPEN", "x", &t(0), json!({"type": "barter", "mode": "test"}))]);
    assert_ok(&app.client.post_events(&odd).await.unwrap());
    let w = wp_events(&app.client, "POS CAT2").await[0]["warnings"].to_string();
    assert!(w.contains("unknown type 'barter'") && w.contains("unknown mode 'test'"), "{w}");
    app.stop().await;
}

/// EVT-9: the answer waits for the store write only — not for the readers of the live stream.
/// A subscriber that never reads does not hold up the collector (the feed drops for it).
#[tokio::test]
async fn a_stalled_stream_reader_does_not_hold_up_the_collector() {
    let app = demo_app().await;
    let stalled = app.client.event_stream(&[]).await.unwrap();
    for b in 0..12 {
        let events = (0..500).map(|i| event("ACT_ACTIVITY", &format!("{b:02x}{i:06x}"), "2017-10-09T18:00:00Z", json!({}))).collect();
        assert_ok(&app.client.post_events(&envelope("POS STALL", events)).await.unwrap());
    }
    assert_eq!(wp_events(&app.client, "POS STALL").await.len(), 6000);
    drop(stalled);
    app.stop().await;
}

/// EVT-8, EVT-38: when the events cannot be stored, the answer is `503` ERROR (the POS keeps
/// them and retries), never `200`.
#[tokio::test]
async fn store_unavailable_is_answered_503() {
    let app = demo_app().await;
    app.core.store.close().await;
    let r = app.client.post_events_raw(TV_E1).await.unwrap();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "ERROR");
    assert!(!r.body["code"].as_str().unwrap().is_empty());
}
