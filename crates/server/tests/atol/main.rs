//! ATOL Online v3 face against a running server: the test vectors of `atol-online-v3.md` §13
//! that need no fiscal register (tokens, registration, idempotency, report from stored state,
//! queue timeout, callbacks), plus bad-input fuzzing; `e2e` runs the vectors that need a register
//! over the fiscal engine, `crash` the process-level SIGKILL test. The clock is a `ManualClock` at T0 and
//! the ids come from the fixture's generators (U1, U2, …; A, B; G1).

#[path = "../common/mod.rs"]
mod common;
mod crash;
mod e2e;

use kassa::Application;
use kassa_client::{Kassa, Reply};
use kassa_core::{Core, ManualClock, SequenceIds};
use kassa_domain::atol::time::{MOSCOW_OFFSET_SECS, parse_local};
use kassa_domain::provisioning::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const A: &str = "031c9f6f25ff44e3acffb8b620fd521a";
const B: &str = "84a50b3a6207421aba46834d650b42a0";
const U1: &str = "2ea26f17-0884-4f08-b120-306fc096a58f";
const U2: &str = "973f3bef-1c39-40c9-abd0-33a91ab005ca";
const U3: &str = "5869a6d9-1540-4ebb-a2a2-f1d11501f213";
const G1: &str = "b1e0d4a2-7c3f-4e59-9a8d-2f6c1e3b5a70";
const GROUP: &str = "MyCompany_MyShop";
const H: i64 = 3_600_000;

struct Fx {
    client: Kassa,
    core: Core,
    clock: Arc<ManualClock>,
    stop: CancellationToken,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<common::FreshPg>,
}

impl Fx {
    async fn stop(mut self) {
        self.stop.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }

    fn t0() -> i64 {
        parse_local("29.05.2017 10:00:00", MOSCOW_OFFSET_SECS).unwrap()
    }

    fn at(&self, offset_ms: i64) {
        self.clock.set_ms(Self::t0() + offset_ms);
    }

    async fn token(&self) -> String {
        let r = self.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
        r.body["token"].as_str().unwrap().to_owned()
    }

    async fn sell(&self, body: &Value) -> Reply {
        self.client.atol_register(GROUP, "sell", A, body).await.unwrap()
    }

    async fn report(&self, uuid: &str) -> Reply {
        self.client.atol_report(GROUP, uuid, A).await.unwrap()
    }

    async fn raw(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> (StatusCode, Vec<u8>, Option<String>) {
        let mut req = self.client.request(method, path);
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.unwrap();
        let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        (resp.status(), resp.bytes().await.unwrap().to_vec(), ct)
    }

    /// The timeout worker's step (tests drive workers by hand).
    async fn expire(&self) -> usize {
        self.core.atol().expire_queued(1000).await.unwrap()
    }
}

fn other_tenant() -> TenantSpec {
    let mut t = TenantSpec::new("other", "Other shop");
    t.groups.push(GroupSpec {
        code: "Other_Shop".into(),
        inn: "7701234567".into(),
        payment_address: "other.ru".into(),
        sno: vec!["usn_income".into()],
    });
    t.atol_logins.push(AtolLogin { login: "othershop".into(), pass: "pw2".into(), groups: vec!["Other_Shop".into()] });
    t
}

/// §13.1: demo tenant + `othershop`, clock at T0, fixed ids, workers stopped.
async fn fixture_with(uuids: &[&str], pg: bool) -> Option<Fx> {
    let mut config = common::test_config();
    config.server.demo = true;
    config.atol.workers = false;
    config.tenants.push(other_tenant());
    let dir = tempfile::tempdir().unwrap();
    config.server.data_dir = dir.path().to_owned();
    let fresh = if pg {
        let p = common::FreshPg::create().await?;
        config.server.database_url = Some(p.url.clone());
        Some(p)
    } else {
        None
    };
    let clock = Arc::new(ManualClock::new(Fx::t0()));
    let ids = Arc::new(SequenceIds::new(uuids, &[A, B]));
    let app = Application::build_with(config, clock.clone(), ids).await.unwrap();
    let client = Kassa::new(format!("http://{}", app.addr())).with_admin_token(app.admin_token());
    let core = app.core().clone();
    let stop = app.shutdown_token();
    let handle = tokio::spawn(app.run_until_stopped());
    Some(Fx { client, core, clock, stop, handle: Some(handle), _dir: Some(dir), _pg: fresh })
}

async fn fixture() -> Fx {
    fixture_with(&[U1, U2, U3], false).await.unwrap()
}

/// The base receipt S of §13.1.
fn s() -> Value {
    json!({
      "external_id": "17052917561851307",
      "receipt": {
        "attributes": {"email": "sample@gmail.ru", "phone": "", "sno": "osn"},
        "items": [
          {"name": "Название товара 1", "price": 5000.0, "quantity": 1.0, "sum": 5000.00, "tax": "vat10", "tax_sum": 454.55},
          {"name": " Название товара 2", "price": 1456.21, "quantity": 2.0, "sum": 2612.42, "tax": "vat118"}
        ],
        "payments": [{"sum": 7612, "type": 1}],
        "total": 7612
      },
      "service": {"callback_url": "http://testtest", "inn": "331122667723", "payment_address": "magazin.ru"},
      "timestamp": "29.05.2017 17:56:18"
    })
}

/// The base correction C of §13.1.
fn c() -> Value {
    json!({
      "timestamp": "29.05.2017 18:10:00",
      "external_id": "corr-0001",
      "service": {"inn": "331122667723", "payment_address": "magazin.ru"},
      "correction": {"attributes": {"sno": "osn"}, "tax": "vat18", "payments": [{"type": 1, "sum": 1000}, {"type": 2, "sum": 500.5}]}
    })
}

/// `v` with the member at JSON Pointer `ptr` set (or removed with `None`).
fn with(mut v: Value, ptr: &str, value: Option<Value>) -> Value {
    let (parent, key) = ptr.rsplit_once('/').unwrap();
    let target = if parent.is_empty() { &mut v } else { v.pointer_mut(parent).unwrap() };
    match (target, value) {
        (Value::Object(o), Some(x)) => {
            o.insert(key.into(), x);
        }
        (Value::Object(o), None) => {
            o.remove(key);
        }
        (Value::Array(a), Some(x)) => a[key.parse::<usize>().unwrap()] = x,
        _ => panic!("bad pointer {ptr}"),
    }
    v
}

fn num(text: &str) -> Value {
    Value::Number(text.parse().unwrap())
}

/// ATOL-102: registration answers have exactly uuid/timestamp/status/error.
fn assert_registration_shape(r: &Reply) {
    let o = r.body.as_object().unwrap_or_else(|| panic!("not an object: {:?}", r.body));
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["error", "status", "timestamp", "uuid"], "{:?}", r.body);
    assert!(["wait", "fail"].contains(&o["status"].as_str().unwrap()));
    assert_eq!(o["timestamp"].as_str().unwrap().len(), 19);
    if let Some(e) = o["error"].as_object() {
        assert_eq!(e["type"], "system", "registration errors are system (ATOL-97)");
        assert!(e["code"].is_i64() && e["text"].is_string());
    }
}

/// ATOL-93/102: report answers have all nine members, strings never null (D-38).
fn assert_report_shape(r: &Reply) {
    let o = r.body.as_object().unwrap_or_else(|| panic!("not an object: {:?}", r.body));
    let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["callback_url", "daemon_code", "device_code", "error", "group_code", "payload", "status", "timestamp", "uuid"],
        "{:?}",
        r.body
    );
    for k in ["uuid", "timestamp", "group_code", "daemon_code", "device_code", "callback_url"] {
        assert!(o[k].is_string(), "{k} is a string: {:?}", r.body);
    }
    if let Some(e) = o["error"].as_object() {
        assert!(["system", "agent", "driver", "timeout"].contains(&e["type"].as_str().unwrap()));
    }
}

fn err(r: &Reply) -> (i64, String, String) {
    let e = &r.body["error"];
    (e["code"].as_i64().unwrap(), e["text"].as_str().unwrap().to_owned(), e["type"].as_str().unwrap().to_owned())
}

fn server_time(fx: &Fx) -> String {
    fx.core.atol().server_time()
}

// ---------------------------------------------------------------- §13.2 getToken

#[tokio::test]
async fn tv1_tv2_token_issue_reuse_and_expiry() {
    // ATOL-29, ATOL-30, ATOL-35, ATOL-36, ATOL-38, ATOL-39, ATOL-40, ATOL-42
    let fx = fixture().await;
    let r = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"code": 0, "text": null, "token": A})));
    fx.at(20 * H);
    let r = fx.client.atol_token_get("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"code": 1, "text": null, "token": A})));
    fx.at(26 * H);
    let r = fx.sell(&s()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], "fail");
    assert_eq!(err(&r), (6, "Переданный токен не активен".into(), "system".into()));
    assert_eq!(r.body["timestamp"], server_time(&fx));
    fx.stop().await;
}

#[tokio::test]
async fn tv3_reissue_timeline() {
    // ATOL-38, ATOL-39, ATOL-40, ATOL-41, ATOL-42 (D-15, D-16)
    let fx = fixture().await;
    assert_eq!(fx.token().await, A);
    fx.at(23 * H);
    let r = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!(r.body, json!({"code": 1, "text": null, "token": A}));
    fx.at(23 * H + 1000);
    let r = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!(r.body, json!({"code": 0, "text": null, "token": B}));
    fx.at(23 * H + 30 * 60_000);
    let r = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!(r.body, json!({"code": 1, "text": null, "token": B}));
    fx.at(24 * H - 1000);
    let r = fx.sell(&with(s(), "/external_id", Some(json!("tl-1")))).await;
    assert_eq!((r.status, r.body["status"].clone()), (StatusCode::OK, json!("wait")), "A still valid: {:?}", r.body);
    fx.at(24 * H);
    let r = fx.sell(&with(s(), "/external_id", Some(json!("tl-2")))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!((r.body["status"].clone(), err(&r).0), (json!("fail"), 6));
    assert_eq!(r.body["timestamp"], server_time(&fx));
    let r = fx.report("00000000-0000-4000-8000-000000000000").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!((r.body["status"].clone(), err(&r)), (json!("wait"), (14, "Переданный токен не активен".into(), "system".into())));
    let r = fx.client.atol_register(GROUP, "sell", B, &with(s(), "/external_id", Some(json!("tl-2")))).await.unwrap();
    assert_eq!((r.status, r.body["error"].clone()), (StatusCode::OK, Value::Null));
    // A user whose only token is 25 h old gets a new one with code 0.
    fx.at(23 * H + 1000 + 25 * H);
    let r = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    assert_eq!(r.body["code"], 0);
    assert_ne!(r.body["token"], json!(B));
    fx.stop().await;
}

#[tokio::test]
async fn tv4_wrong_credentials() {
    // ATOL-33
    let fx = fixture().await;
    for (login, pass) in [("netletest", "wrong"), ("nobody", "v2AfscRjr"), ("netletest", ""), ("NETLETEST", "v2AfscRjr")] {
        let r = fx.client.atol_token(login, pass).await.unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body, json!({"code": 19, "text": "Неверный логин или пароль", "token": ""}));
    }
    fx.stop().await;
}

#[tokio::test]
async fn tv5_bad_token_requests() {
    // ATOL-32, ATOL-28, ATOL-31, ATOL-18, ATOL-35
    let fx = fixture().await;
    let expected = json!({"code": 17, "text": "Некорректный запрос", "token": ""});
    let posts: [&[u8]; 6] = [
        br#"{"login":"netletest"}"#,
        b"not json",
        b"[]",
        br#"{"login":"netletest","pass":123}"#,
        br#"{"login":"netletest","pass":null}"#,
        br#"{"login":"netletest","pass":"v2AfscRjr","pass":"v2AfscRjr"}"#,
    ];
    for body in posts {
        let (st, b, ct) = fx.raw(Method::POST, "/possystem/v3/getToken", Some(body.to_vec())).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(body));
        assert_eq!(serde_json::from_slice::<Value>(&b).unwrap(), expected);
        assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
    }
    for (m, path) in [
        (Method::GET, "/possystem/v3/getToken"),
        (Method::PUT, "/possystem/v3/getToken"),
        (Method::DELETE, "/possystem/v3/getToken?login=netletest&pass=v2AfscRjr"),
        (Method::GET, "/possystem/v2/getToken?login=netletest&pass=v2AfscRjr"),
        (Method::GET, "/possystem/v3/getToken?login=netletest"),
        // ATOL-31: POST reads the body only, never the query.
        (Method::POST, "/possystem/v3/getToken?login=netletest&pass=v2AfscRjr"),
    ] {
        let (st, b, _) = fx.raw(m.clone(), path, None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{m} {path}");
        assert_eq!(serde_json::from_slice::<Value>(&b).unwrap(), expected, "{m} {path}");
    }
    // ATOL-30: form decoding of the query (`+` and %XX), and a BOM-prefixed POST body (ATOL-15).
    let (st, b, _) = fx.raw(Method::GET, "/possystem/v3/getToken?login=netle%74est&pass=v2AfscRjr", None).await;
    assert_eq!((st, serde_json::from_slice::<Value>(&b).unwrap()["code"].clone()), (StatusCode::OK, json!(0)));
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(br#"{"login":"netletest","pass":"v2AfscRjr","extra":1}"#);
    let (st, b, _) = fx.raw(Method::POST, "/possystem/v3/getToken", Some(bom)).await;
    assert_eq!((st, serde_json::from_slice::<Value>(&b).unwrap()["code"].clone()), (StatusCode::OK, json!(1)));
    fx.stop().await;
}

// ---------------------------------------------------------------- §13.3 registration

#[tokio::test]
async fn tv6_tv7_tv8_acceptance_and_duplicate_external_id() {
    // ATOL-24, ATOL-45, ATOL-46, ATOL-48, ATOL-49, ATOL-67, ATOL-68, ATOL-69, ATOL-71, ATOL-72, ATOL-5
    let fx = fixture().await;
    fx.token().await;
    fx.at(H);
    let r = fx.sell(&s()).await;
    assert_registration_shape(&r);
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "wait", "error": null}))
    );
    let dup = json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "fail", "error": {"code": 10,
        "text": "В системе существует чек с external_id : 17052917561851307 и group_code: MyCompany_MyShop", "type": "system"}});
    let r = fx.sell(&s()).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, dup.clone()));
    // Any body with that external_id, and another operation (ATOL-71).
    let r = fx.sell(&json!({"external_id": "17052917561851307"})).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, dup.clone()), "step 7 precedes validation");
    let r = fx.client.atol_register(GROUP, "sell_refund", A, &s()).await.unwrap();
    assert_eq!((r.status, r.body.clone()), (StatusCode::BAD_REQUEST, dup));
    // No new document was created: one document in the group, queued.
    let docs = fx.client.atol_documents("group=MyCompany_MyShop").await.unwrap();
    assert_eq!(docs.body.as_array().unwrap().len(), 1);
    assert_eq!(docs.body[0]["state"], "queued");
    // The six operations are accepted (ATOL-46), corrections with C.
    for (i, op) in ["sell_refund", "buy", "buy_refund"].iter().enumerate() {
        let r = fx.client.atol_register(GROUP, op, A, &with(s(), "/external_id", Some(json!(format!("op-{i}"))))).await.unwrap();
        assert_eq!((r.status, r.body["status"].clone(), r.body["error"].clone()), (StatusCode::OK, json!("wait"), Value::Null), "{op}");
        let u = r.body["uuid"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(u).is_ok() && u.len() == 36 && u == u.to_lowercase(), "ATOL-24: {u}");
    }
    let r = fx.client.atol_register(GROUP, "buy_correction", A, &c()).await.unwrap();
    assert_eq!((r.status, r.body["error"].clone()), (StatusCode::OK, Value::Null));
    fx.stop().await;
}

#[tokio::test]
async fn tv9_missing_external_id_is_generated() {
    // ATOL-75, ATOL-70 (23), ATOL-73
    for variant in [None, Some(json!("")), Some(Value::Null)] {
        let fx = fixture_with(&[U1, G1, U2], false).await.unwrap();
        fx.token().await;
        let r = fx.sell(&with(s(), "/external_id", variant.clone())).await;
        assert_registration_shape(&r);
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::OK, json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "wait", "error": {"code": 23,
              "text": format!("Заполните поле external_id. Это необходимо для идентификации чека. External_id этого чека, выданный системой - {G1}."),
              "type": "system"}})),
            "{variant:?}"
        );
        let r = fx.sell(&with(s(), "/external_id", Some(json!(G1)))).await;
        assert_eq!((r.status, r.body["uuid"].clone(), err(&r).0), (StatusCode::BAD_REQUEST, json!(U1), 10));
        fx.stop().await;
    }
}

#[tokio::test]
async fn tv10_routing_and_versions() {
    // ATOL-13, ATOL-14, ATOL-25, ATOL-26, ATOL-28, ATOL-46 (D-6)
    let fx = fixture().await;
    fx.token().await;
    let body = serde_json::to_vec(&s()).unwrap();
    for (m, path, code, text) in [
        (Method::POST, "/possystem/v3//sell?tokenid=A", 2, "Некорректный запрос".to_owned()),
        (Method::POST, "/possystem/v3/MyCompany_MyShop/?tokenid=A", 2, "Некорректный запрос".to_owned()),
        (Method::POST, "/possystem/v3/MyCompany_MyShop/sale?tokenid=A", 3, "Операция \"sale\" не поддерживается".to_owned()),
        (Method::POST, "/possystem/v3/MyCompany_MyShop/Sell?tokenid=A", 3, "Операция \"Sell\" не поддерживается".to_owned()),
        (Method::POST, "/possystem/v3/MyCompany_MyShop/%73ale?tokenid=A", 3, "Операция \"sale\" не поддерживается".to_owned()),
        (Method::GET, "/possystem/v3/MyCompany_MyShop/sell?tokenid=A", 2, "Некорректный запрос".to_owned()),
        (Method::POST, "/possystem/v2/MyCompany_MyShop/sell?tokenid=A", 2, "Некорректный запрос".to_owned()),
        (Method::POST, "/possystem/v4/MyCompany_MyShop/sell?tokenid=A", 2, "Некорректный запрос".to_owned()),
    ] {
        let (st, b, ct) = fx.raw(m.clone(), &path.replace("=A", &format!("={A}")), Some(body.clone())).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(st, StatusCode::BAD_REQUEST, "{m} {path}: {v}");
        assert_eq!((v["status"].clone(), v["error"].clone()), (json!("fail"), json!({"code": code, "text": text, "type": "system"})), "{m} {path}");
        assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
        assert_eq!(v["timestamp"], server_time(&fx));
    }
    for (m, path) in [
        (Method::GET, "/possystem/v3/a/b/c/d/e"),
        (Method::GET, "/possystem/"),
        (Method::GET, "/possystem/v3"),
        (Method::POST, "/possystem/v3/sell"),
        (Method::GET, "/possystem/v3/MyCompany_MyShop/status/x"),
    ] {
        let (st, b, _) = fx.raw(m.clone(), path, None).await;
        assert_eq!((st, b.len()), (StatusCode::NOT_FOUND, 0), "{m} {path}");
    }
    // Nothing was stored by these requests (ATOL-50).
    assert_eq!(fx.client.atol_documents("").await.unwrap().body, json!([]));
    fx.stop().await;
}

#[tokio::test]
async fn tv11_tv12_token_and_group_errors_store_nothing() {
    // ATOL-43, ATOL-44, ATOL-37, ATOL-49, ATOL-50, ATOL-52
    let fx = fixture().await;
    fx.token().await;
    let body = serde_json::to_vec(&s()).unwrap();
    let cases = [
        (format!("/possystem/v3/{GROUP}/sell"), 400, 4, "Не распознан tokenid запроса"),
        (format!("/possystem/v3/{GROUP}/sell?tokenid="), 400, 4, "Не распознан tokenid запроса"),
        (format!("/possystem/v3/{GROUP}/sell?tokenid=d8c7021934fg4f2384ebf6b72624bbbf"), 401, 5, "Переданный токен не найден в БД"),
        (format!("/possystem/v3/{GROUP}/sell?tokenId={A}"), 400, 4, "Не распознан tokenid запроса"),
        (format!("/possystem/v3/Other_Shop/sell?tokenid={A}"), 400, 22, "Код группы, указанный в запросе, не соответствует токену"),
        (format!("/possystem/v3/NoSuchGroup/sell?tokenid={A}"), 400, 22, "Код группы, указанный в запросе, не соответствует токену"),
    ];
    let mut uuids = Vec::new();
    for (path, http, code, text) in cases {
        let (st, b, _) = fx.raw(Method::POST, &path, Some(body.clone())).await;
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(st.as_u16(), http, "{path}");
        assert_eq!((v["status"].clone(), v["error"].clone()), (json!("fail"), json!({"code": code, "text": text, "type": "system"})), "{path}");
        uuids.push(v["uuid"].as_str().unwrap().to_owned());
    }
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 6, "each answer carries a fresh uuid");
    fx.at(24 * H);
    let r = fx.sell(&s()).await;
    assert_eq!((r.status, err(&r).0), (StatusCode::UNAUTHORIZED, 6));
    assert_eq!(fx.client.atol_documents("").await.unwrap().body, json!([]), "nothing is stored");
    fx.stop().await;
}

#[tokio::test]
async fn tv13_parse_error_is_stored_for_the_report() {
    // ATOL-48 step 6, ATOL-50, ATOL-70 (1), ATOL-94, ATOL-98
    let fx = fixture().await;
    fx.token().await;
    let r = fx.client.atol_register_raw(GROUP, "sell", A, br#"{"external_id": "x","#.to_vec()).await.unwrap();
    assert_registration_shape(&r);
    assert_eq!((r.status, r.body["status"].clone(), r.body["uuid"].clone()), (StatusCode::BAD_REQUEST, json!("fail"), json!(U1)));
    let (code, text, kind) = err(&r);
    assert_eq!((code, kind.as_str()), (1, "system"));
    assert!(text.starts_with("Ошибка при парсинге JSON: ") && text.len() > 30, "{text}");
    assert_eq!(r.body["timestamp"], server_time(&fx));
    let rep = fx.report(U1).await;
    assert_report_shape(&rep);
    assert_eq!((rep.status, rep.body["status"].clone(), rep.body["error"].clone()), (StatusCode::BAD_REQUEST, json!("fail"), r.body["error"].clone()));
    // Empty body and invalid UTF-8 are parse errors too.
    for body in [Vec::new(), b"{\"a\":\"\xff\"}".to_vec(), b"{\"a\":1} trailing".to_vec()] {
        let r = fx.client.atol_register_raw(GROUP, "sell", A, body).await.unwrap();
        assert_eq!((r.status, err(&r).0), (StatusCode::BAD_REQUEST, 1));
    }
    fx.stop().await;
}

#[tokio::test]
async fn tv14_check_order() {
    // ATOL-48
    let fx = fixture().await;
    let (st, b, _) = fx.raw(Method::POST, "/possystem/v3/Other_Shop/sale", Some(b"{oops".to_vec())).await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((st, v["error"]["code"].clone()), (StatusCode::BAD_REQUEST, json!(3)));
    // Token before group, group before body.
    let (_, b, _) = fx.raw(Method::POST, "/possystem/v3/Other_Shop/sell", Some(b"{oops".to_vec())).await;
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["error"]["code"], 4);
    fx.token().await;
    let (_, b, _) = fx.raw(Method::POST, &format!("/possystem/v3/Other_Shop/sell?tokenid={A}"), Some(b"{oops".to_vec())).await;
    assert_eq!(serde_json::from_slice::<Value>(&b).unwrap()["error"]["code"], 22);
    fx.stop().await;
}

/// Sends `body` to `op`; asserts error 8 with its text prefix, the report repeating it.
async fn expect_8(fx: &Fx, op: &str, body: Value, label: &str) {
    let r = fx.client.atol_register(GROUP, op, A, &body).await.unwrap();
    assert_registration_shape(&r);
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{label}: {:?}", r.body);
    assert_eq!(r.body["status"], "fail", "{label}");
    let uuid = r.body["uuid"].as_str().unwrap().to_owned();
    let (code, text, kind) = err(&r);
    assert_eq!((code, kind.as_str()), (8, "system"), "{label}: {text}");
    let prefix = format!("Ошибка валидации входящего чека с GUID \"{uuid}\": ");
    assert!(text.starts_with(&prefix) && text.len() > prefix.len(), "{label}: {text}");
    // ATOL-50/94: the report of that uuid says the same.
    let rep = fx.report(&uuid).await;
    assert_report_shape(&rep);
    assert_eq!((rep.status, rep.body["status"].clone(), rep.body["error"].clone()), (StatusCode::BAD_REQUEST, json!("fail"), r.body["error"].clone()), "{label}");
}

async fn expect_accepted(fx: &Fx, op: &str, body: Value, label: &str) -> String {
    let r = fx.client.atol_register(GROUP, op, A, &body).await.unwrap();
    assert_registration_shape(&r);
    assert_eq!((r.status, r.body["status"].clone(), r.body["error"].clone()), (StatusCode::OK, json!("wait"), Value::Null), "{label}: {:?}", r.body);
    r.body["uuid"].as_str().unwrap().to_owned()
}

fn items(n: usize) -> Value {
    json!(vec![json!({"name":"x","price":1,"quantity":1,"sum":1,"tax":"none"}); n])
}

#[tokio::test]
async fn tv15_validation_of_receipt_fields() {
    // ATOL-53, ATOL-54, ATOL-55, ATOL-56, ATOL-57, ATOL-58, ATOL-59, ATOL-61, ATOL-65, ATOL-66,
    // ATOL-16, ATOL-17, ATOL-18, ATOL-19, ATOL-20, ATOL-21, ATOL-47, ATOL-73
    let fx = fixture().await;
    fx.token().await;
    let mut n = 0;
    let mut fresh = |v: Value| {
        n += 1;
        with(v, "/external_id", Some(json!(format!("ok-{n}"))))
    };
    let pos = |price: &str, qty: &str, sum: &str| json!([{"name": "x", "price": num(price), "quantity": num(qty), "sum": num(sum), "tax": "none"}]);
    let one = |v: Value, price: &str, qty: &str, sum: &str, total: &str| {
        let v = with(v, "/receipt/items", Some(pos(price, qty, sum)));
        let v = with(v, "/receipt/total", Some(num(total)));
        with(v, "/receipt/payments", Some(json!([{"type": 1, "sum": num(total)}])))
    };
    let bad: Vec<(&str, Value)> = vec![
        ("V1", with(s(), "/timestamp", Some(json!("2017-05-29 17:56:18")))),
        ("V2", with(s(), "/timestamp", Some(json!("29.05.2017 25:00:00")))),
        ("V4", with(s(), "/timestamp", Some(json!("29.5.2017 17:56:18")))),
        ("V5", with(s(), "/timestamp", None)),
        ("V6", with(s(), "/external_id", Some(json!("a".repeat(257))))),
        ("V7", with(s(), "/external_id", Some(num("17052917561851307")))),
        ("V8", with(s(), "/service/inn", Some(json!("33112266772")))),
        ("V10", with(s(), "/service", None)),
        ("V11", with(s(), "/service/payment_address", Some(json!("a".repeat(257))))),
        ("V12", with(s(), "/service/callback_url", Some(json!(format!("http://{}", "a".repeat(250)))))),
        ("V13", with(s(), "/receipt/attributes/sno", Some(json!("usn")))),
        ("V14", with(s(), "/receipt/attributes/email", Some(json!("")))),
        ("V15", with(with(s(), "/receipt/attributes/email", None), "/receipt/attributes/phone", None)),
        ("V16", with(s(), "/receipt/attributes/email", Some(json!(format!("{}@x.ru", "a".repeat(60)))))),
        ("V17", with(s(), "/receipt/attributes/phone", Some(json!("+371 2 1234567")))),
        ("V18", with(s(), "/receipt/attributes", None)),
        ("V19", with(s(), "/receipt/items", Some(json!([])))),
        ("V20", with(with(with(s(), "/receipt/items", Some(items(101))), "/receipt/total", Some(json!(101))), "/receipt/payments", Some(json!([{"type":1,"sum":101}])))),
        ("V21", with(with(with(s(), "/receipt/items", Some(json!([{"text":"Спасибо за покупку"}]))), "/receipt/total", Some(json!(0))), "/receipt/payments", Some(json!([{"type":1,"sum":0}])))),
        ("V22", with(s(), "/receipt/items/0/name", Some(json!("я".repeat(65))))),
        ("V23", with(s(), "/receipt/items/1/price", Some(num("1456.215")))),
        ("V24", with(s(), "/receipt/items/0/price", Some(num("100000000")))),
        ("V25", one(s(), "42946972.96", "1", "42946972.96", "42946972.96")),
        ("V27", one(s(), "21473486.48", "2", "42946972.96", "42946972.96")),
        ("V29", with(s(), "/receipt/items/0/quantity", Some(num("1.0005")))),
        ("V30", with(s(), "/receipt/items/0/quantity", Some(num("100000")))),
        ("V31", with(s(), "/receipt/items/0/sum", Some(num("5000.001")))),
        ("V32", with(s(), "/receipt/items/0/tax", Some(json!("vat20")))),
        ("V33", with(s(), "/receipt/items/0/tax_sum", Some(num("454.555")))),
        ("V35", with(s(), "/receipt/total", Some(num("7612.001")))),
        ("V36", with(s(), "/receipt/payments", Some(json!([])))),
        ("V37", with(s(), "/receipt/payments", Some(json!(vec![json!({"type":1,"sum":692}); 11])))),
        ("V38a", with(s(), "/receipt/payments/0/type", Some(json!(10)))),
        ("V38b", with(s(), "/receipt/payments/0/type", Some(json!("1")))),
        ("V38c", with(s(), "/receipt/payments/0/type", Some(num("1.5")))),
        ("V40", with(s(), "/receipt/payments/0/sum", Some(num("7612.001")))),
        ("V41", with(s(), "/receipt/items/0/price", Some(json!("5000.00")))),
        ("V42", with(s(), "/receipt/items/0/price", Some(json!(-1)))),
        ("V44", with(s(), "/receipt", None)),
        ("V45a", json!([])),
        ("V45b", json!({})),
        ("V45c", json!("text")),
        ("V46", c()),
        ("items-not-object", with(s(), "/receipt/items/0", Some(json!(5)))),
        ("item-without-kind", with(s(), "/receipt/items/0", Some(json!({"foo": 1})))),
        ("service-not-object", with(s(), "/service", Some(json!("x")))),
    ];
    for (label, body) in bad {
        let body = if body.get("external_id").is_some_and(Value::is_string) && label != "V6" { fresh(body) } else { body };
        expect_8(&fx, "sell", body, label).await;
    }
    // V5: without timestamp the response timestamp is server time.
    let r = fx.sell(&fresh(with(s(), "/timestamp", None))).await;
    assert_eq!(r.body["timestamp"], server_time(&fx));
    // V48: external_id given twice (ATOL-18) → 8, not 10.
    let dup = r#"{"external_id":"dup-1","external_id":"dup-1","timestamp":"29.05.2017 17:56:18"}"#;
    let r = fx.client.atol_register_raw(GROUP, "sell", A, dup.as_bytes().to_vec()).await.unwrap();
    assert_eq!((r.status, err(&r).0), (StatusCode::BAD_REQUEST, 8));

    let good: Vec<(&str, Value)> = vec![
        ("V3", with(s(), "/timestamp", Some(json!("29.05.2017 24:00:00")))),
        ("V6", with(s(), "/external_id", Some(json!("a".repeat(256))))),
        ("V9", with(s(), "/service/inn", Some(json!("3311226677")))),
        ("V20", with(with(with(s(), "/receipt/items", Some(items(100))), "/receipt/total", Some(json!(100))), "/receipt/payments", Some(json!([{"type":1,"sum":100}])))),
        ("V22", with(s(), "/receipt/items/0/name", Some(json!("я".repeat(64))))),
        ("V26", one(s(), "42946972.95", "1", "42946972.95", "42946972.95")),
        ("V28", one(s(), "21473486.47", "2", "42946972.94", "42946972.94")),
        ("V34", with(s(), "/receipt/items/0/tax_sum", Some(Value::Null))),
        ("V37", with(s(), "/receipt/payments", Some(json!(vec![json!({"type":1,"sum":761.2}); 10])))),
        ("V39a", with(s(), "/receipt/payments/0/type", Some(json!(0)))),
        ("V39b", with(s(), "/receipt/payments/0/type", Some(num("1.0")))),
        ("V43", with(s(), "/receipt/items/0/price", Some(num("5e3")))),
        ("V47", with(with(s(), "/receipt/client", Some(json!({"email": "x@y.ru"}))), "/foo", Some(json!(1)))),
        ("barcode+text", s().pipe_items()),
        ("no-sno", with(s(), "/receipt/attributes/sno", None)),
        ("sum≠price×qty (ATOL-56)", with(s(), "/receipt/items/1/sum", Some(num("2000"))).fix_total()),
        ("tax_sum>sum passes (ATOL-66)", with(s(), "/receipt/items/0/tax_sum", Some(num("5000.01")))),
        ("price 0 passes", with(s(), "/receipt/items/0/price", Some(json!(0)))),
    ];
    for (label, body) in good {
        let body = if label == "V6" { body } else { fresh(body) };
        expect_accepted(&fx, "sell", body, label).await;
    }
    // ATOL-73: a request rejected with 8 reserved nothing; S with its external_id is accepted.
    expect_8(&fx, "sell", with(s(), "/receipt/total", Some(num("1"))), "pre").await;
    expect_accepted(&fx, "sell", s(), "S after rejections").await;
    fx.stop().await;
}

trait Fixups {
    fn pipe_items(self) -> Value;
    fn fix_total(self) -> Value;
}

impl Fixups for Value {
    /// S with a barcode line and a text line added (ATOL-54).
    fn pipe_items(mut self) -> Value {
        let items = self.pointer_mut("/receipt/items").unwrap().as_array_mut().unwrap();
        items.push(json!({"barcode": "4601234567890"}));
        items.push(json!({"text": "Спасибо за покупку"}));
        self
    }
    /// Total and payment = Σ sum.
    fn fix_total(self) -> Value {
        let v = with(self, "/receipt/total", Some(json!(7000)));
        with(v, "/receipt/payments/0/sum", Some(json!(7000)))
    }
}

#[tokio::test]
async fn tv16_total_tolerance() {
    // ATOL-57
    let fx = fixture().await;
    fx.token().await;
    for (i, (total, ok)) in [("7611.42", false), ("7611.43", true), ("7613.41", true), ("7613.42", false)].into_iter().enumerate() {
        let v = with(with(s(), "/receipt/total", Some(num(total))), "/receipt/payments/0/sum", Some(num(total)));
        let v = with(v, "/external_id", Some(json!(format!("tol-{i}"))));
        if ok {
            expect_accepted(&fx, "sell", v, total).await;
        } else {
            expect_8(&fx, "sell", v, total).await;
        }
    }
    fx.stop().await;
}

#[tokio::test]
async fn tv17_phone_and_email() {
    // ATOL-58, ATOL-59, ATOL-60 (the contact normalization itself: kassa-domain unit tests)
    let fx = fixture().await;
    fx.token().await;
    let cases: [(Option<&str>, &str, bool); 6] = [
        (Some(""), "9251234567", true),
        (Some(""), "+37121234567", true),
        (Some(""), "37121234567", true),
        (Some(""), "+7(925)1234567", false),
        (Some("sample@gmail.ru"), "+79251234567", true),
        (None, "9251234567", true),
    ];
    for (i, (email, phone, ok)) in cases.into_iter().enumerate() {
        let v = with(s(), "/receipt/attributes/email", email.map(|e| json!(e)));
        let v = with(v, "/receipt/attributes/phone", Some(json!(phone)));
        let v = with(v, "/external_id", Some(json!(format!("ph-{i}"))));
        if ok {
            expect_accepted(&fx, "sell", v, phone).await;
        } else {
            expect_8(&fx, "sell", v, phone).await;
        }
    }
    fx.stop().await;
}

#[tokio::test]
async fn tv18_tv19_corrections() {
    // ATOL-62, ATOL-63, ATOL-64, ATOL-47 (D-17, D-25)
    let fx = fixture_with(&[U1], false).await.unwrap();
    fx.token().await;
    let r = fx.client.atol_register(GROUP, "sell_correction", A, &c()).await.unwrap();
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"uuid": U1, "timestamp": "29.05.2017 18:10:00", "status": "wait", "error": null}))
    );
    let mut n = 0;
    let mut fresh = |v: Value| {
        n += 1;
        with(v, "/external_id", Some(json!(format!("corr-{n}"))))
    };
    for op in ["sell_correction", "buy_correction"] {
        for (label, v) in [
            ("no tax", with(c(), "/correction/tax", None)),
            ("payments []", with(c(), "/correction/payments", Some(json!([])))),
            ("vat20", with(c(), "/correction/tax", Some(json!("vat20")))),
            ("inn 123", with(c(), "/service/inn", Some(json!("123")))),
            ("sum 1000.005", with(c(), "/correction/payments/0/sum", Some(num("1000.005")))),
            ("S as correction", s()),
            ("attributes not object", with(c(), "/correction/attributes", Some(json!([])))),
        ] {
            expect_8(&fx, op, fresh(v), label).await;
        }
        expect_accepted(&fx, op, fresh(with(c(), "/service", None)), "without service").await;
        expect_accepted(&fx, op, fresh(with(c(), "/correction/attributes", None)), "without attributes").await;
        let extra = with(with(c(), "/receipt", Some(json!({"total": "x"}))), "/correction/items", Some(json!(5)));
        expect_accepted(&fx, op, fresh(extra), "items/total ignored (ATOL-64)").await;
    }
    fx.stop().await;
}

#[tokio::test]
async fn bodies_up_to_256_kib_are_accepted_larger_ones_refused() {
    // ATOL-15, ATOL-16
    let fx = fixture().await;
    fx.token().await;
    let big = with(s(), "/padding", Some(json!("x".repeat(300 * 1024))));
    expect_accepted(&fx, "sell", big, "300 KiB").await;
    let huge = with(with(s(), "/padding", Some(json!("x".repeat(600 * 1024)))), "/external_id", Some(json!("huge")));
    let r = fx.sell(&huge).await;
    assert_eq!((r.status, err(&r).0, r.body["status"].clone()), (StatusCode::BAD_REQUEST, 1, json!("fail")));
    fx.stop().await;
}

#[tokio::test]
async fn concurrent_same_external_id_has_one_winner() {
    // ATOL-51
    let fx = fixture_with(&[], false).await.unwrap();
    fx.token().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = fx.client.clone();
            tokio::spawn(async move { client.atol_register(GROUP, "sell", A, &s()).await.unwrap() })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut dups = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::OK { accepted.push(r.body["uuid"].clone()) } else { dups.push(r) }
    }
    assert_eq!(accepted.len(), 1);
    assert!(dups.iter().all(|d| err(d).0 == 10 && d.body["uuid"] == accepted[0]));
    fx.stop().await;
}

// ---------------------------------------------------------------- §13.4 report

#[tokio::test]
async fn tv20_report_while_queued_and_uppercase_uuid() {
    // ATOL-90, ATOL-91, ATOL-92, ATOL-93, ATOL-94 (queued → wait/16), ATOL-80 (queued durably)
    let fx = fixture().await;
    fx.token().await;
    fx.sell(&s()).await;
    let expected = json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "wait",
        "error": {"code": 16, "text": "Нет информации, попробуйте позднее", "type": "system"}, "payload": null,
        "group_code": GROUP, "daemon_code": "", "device_code": "", "callback_url": "http://testtest"});
    let r = fx.report(U1).await;
    assert_report_shape(&r);
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, expected.clone()));
    let r = fx.report(&U1.to_uppercase()).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, expected));
    fx.stop().await;
}

#[tokio::test]
async fn tv26_queue_timeout_fails_and_calls_back() {
    // ATOL-81, ATOL-85, ATOL-94 (failed by timeout), ATOL-76, ATOL-77, ATOL-72 (after failure)
    let fx = fixture_with(&[U1, U2], false).await.unwrap();
    fx.token().await;
    fx.at(H);
    fx.sell(&s()).await;
    fx.at(H + 299_000);
    assert_eq!(fx.expire().await, 0);
    let r = fx.report(U1).await;
    assert_eq!((r.status, err(&r).0, r.body["status"].clone()), (StatusCode::OK, 16, json!("wait")));
    fx.at(H + 301_000);
    assert_eq!(fx.expire().await, 1);
    let expected = json!({"uuid": U1, "timestamp": "29.05.2017 17:56:18", "status": "fail",
        "error": {"code": 1, "text": "Превышено время ожидания чека в очереди.", "type": "timeout"}, "payload": null,
        "group_code": GROUP, "daemon_code": "", "device_code": "", "callback_url": "http://testtest"});
    let r = fx.report(U1).await;
    assert_report_shape(&r);
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, expected.clone()));
    assert_eq!(fx.expire().await, 0, "final documents never change");
    let r = fx.sell(&s()).await;
    assert_eq!((err(&r).0, r.body["uuid"].clone()), (10, json!(U1)));
    expect_accepted(&fx, "sell", with(s(), "/external_id", Some(json!("new-1"))), "new external_id").await;
    // The callback row holds the report body (ATOL-77).
    let cbs = fx.client.atol_callbacks("").await.unwrap();
    assert_eq!(cbs.body.as_array().unwrap().len(), 1);
    assert_eq!((cbs.body[0]["uuid"].clone(), cbs.body[0]["state"].clone()), (json!(U1), json!("pending")));
    fx.stop().await;
}

#[tokio::test]
async fn tv28_report_request_errors() {
    // ATOL-91, ATOL-92, ATOL-44, ATOL-23, ATOL-100 (D-36, D-37)
    let fx = fixture().await;
    fx.token().await;
    fx.sell(&s()).await;
    let now = server_time(&fx);
    let cases = [
        (Method::GET, format!("/possystem/v3//report/{U1}?tokenid={A}"), 401, 11, "Некорректный запрос", U1, ""),
        (Method::POST, format!("/possystem/v3/{GROUP}/report/{U1}?tokenid={A}"), 401, 11, "Некорректный запрос", U1, GROUP),
        (Method::GET, format!("/possystem/v2/{GROUP}/report/{U1}?tokenid={A}"), 401, 11, "Некорректный запрос", U1, GROUP),
        (Method::GET, format!("/possystem/v3/{GROUP}/report/not-a-uuid?tokenid={A}"), 401, 15, "Не распознан uuid запроса", "not-a-uuid", GROUP),
        (Method::GET, format!("/possystem/v3/{GROUP}/report?tokenid={A}"), 401, 15, "Не распознан uuid запроса", "", GROUP),
        (Method::GET, format!("/possystem/v3/{GROUP}/report/{U1}"), 401, 12, "Не распознан tokenId запроса", U1, GROUP),
        (Method::GET, format!("/possystem/v3/{GROUP}/report/{U1}?tokenid=d8c7021934fg4f2384ebf6b72624bbbf"), 401, 13, "Переданный токен не найден в БД", U1, GROUP),
        (Method::GET, format!("/possystem/v3/Other_Shop/report/{U1}?tokenid={A}"), 400, 22, "Код группы, указанный в запросе, не соответствует токену", U1, "Other_Shop"),
        (Method::GET, format!("/possystem/v3/{GROUP}/report/00000000-0000-4000-8000-000000000000?tokenid={A}"), 200, 16, "Нет информации, попробуйте позднее", "00000000-0000-4000-8000-000000000000", GROUP),
    ];
    for (m, path, http, code, text, uuid, group) in cases {
        let (st, b, ct) = fx.raw(m.clone(), &path, None).await;
        let r = Reply { status: st, body: serde_json::from_slice(&b).unwrap() };
        assert_report_shape(&r);
        assert_eq!(st.as_u16(), http, "{m} {path}");
        assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
        assert_eq!(
            r.body,
            json!({"uuid": uuid, "timestamp": now, "status": "wait", "error": {"code": code, "text": text, "type": "system"},
                   "payload": null, "group_code": group, "daemon_code": "", "device_code": "", "callback_url": ""}),
            "{m} {path}"
        );
    }
    // Another user's group does not reveal U1 (D-37).
    let other = fx.client.atol_token("othershop", "pw2").await.unwrap().body["token"].as_str().unwrap().to_owned();
    let r = fx.client.atol_report("Other_Shop", U1, &other).await.unwrap();
    assert_eq!((r.status, err(&r).0, r.body["status"].clone(), r.body["group_code"].clone()), (StatusCode::OK, 16, json!("wait"), json!("Other_Shop")));
    fx.at(24 * H);
    let r = fx.report(U1).await;
    assert_eq!((r.status, err(&r).0), (StatusCode::UNAUTHORIZED, 14));
    fx.stop().await;
}

// ---------------------------------------------------------------- callbacks

/// A local callback receiver answering with `status`; returns its URL and the received bodies.
async fn receiver(status: u16) -> (String, Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    let got: Arc<std::sync::Mutex<Vec<(String, Value)>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::any(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let g = g.clone();
            async move {
                let ct = headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
                g.lock().unwrap().push((ct, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                if status == 302 {
                    return (axum::http::StatusCode::FOUND, [("location", "/elsewhere")], "moved").into_response_parts();
                }
                (axum::http::StatusCode::from_u16(status).unwrap(), [("x-test", "1")], "x".repeat(200_000)).into_response_parts()
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

trait IntoParts {
    fn into_response_parts(self) -> axum::response::Response;
}

impl<T: axum::response::IntoResponse> IntoParts for T {
    fn into_response_parts(self) -> axum::response::Response {
        self.into_response()
    }
}

async fn timed_out_with_callback(fx: &Fx, url: &str, ext: &str) -> String {
    let r = fx.sell(&with(with(s(), "/service/callback_url", Some(json!(url))), "/external_id", Some(json!(ext)))).await;
    let uuid = r.body["uuid"].as_str().unwrap().to_owned();
    fx.clock.advance_ms(301_000);
    assert!(fx.expire().await >= 1);
    uuid
}

#[tokio::test]
async fn tv29_callback_delivered_once_with_the_report_body() {
    // ATOL-76, ATOL-77, ATOL-78, ATOL-79 (D-31)
    use kassa_workers::{Worker, atol::AtolCallbacks};
    let fx = fixture_with(&[U1], false).await.unwrap();
    fx.token().await;
    let (url, got) = receiver(200).await;
    let uuid = timed_out_with_callback(&fx, &url, "cb-1").await;
    let mut worker = AtolCallbacks::new(fx.core.clone());
    worker.run_once().await.unwrap();
    worker.run_once().await.unwrap();
    fx.clock.advance_ms(200_000);
    worker.run_once().await.unwrap();
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "exactly one POST");
    assert_eq!(got[0].0, "application/json; charset=utf-8");
    let report = fx.report(&uuid).await;
    assert_eq!(got[0].1, report.body, "the callback body is the report");
    let cbs = fx.client.atol_callbacks("state=delivered").await.unwrap();
    assert_eq!((cbs.body[0]["attempts"].clone(), cbs.body[0]["last_status"].clone()), (json!(1), json!(200)));
    fx.stop().await;
}

#[tokio::test]
async fn tv29_failing_callback_is_retried_at_30_and_120_seconds_then_given_up() {
    // ATOL-78 (three attempts: +0 s, +30 s, +120 s; redirects not followed)
    use kassa_workers::{Worker, atol::AtolCallbacks};
    for status in [500, 302] {
        let fx = fixture_with(&[U1], false).await.unwrap();
        fx.token().await;
        let (url, got) = receiver(status).await;
        timed_out_with_callback(&fx, &url, "cb-2").await;
        let mut worker = AtolCallbacks::new(fx.core.clone());
        let count = || got.lock().unwrap().len();
        worker.run_once().await.unwrap();
        assert_eq!(count(), 1);
        fx.clock.advance_ms(29_000);
        worker.run_once().await.unwrap();
        assert_eq!(count(), 1, "not before +30 s");
        fx.clock.advance_ms(1_000);
        worker.run_once().await.unwrap();
        assert_eq!(count(), 2);
        fx.clock.advance_ms(89_000);
        worker.run_once().await.unwrap();
        assert_eq!(count(), 2, "not before +120 s");
        fx.clock.advance_ms(1_000);
        worker.run_once().await.unwrap();
        assert_eq!(count(), 3);
        fx.clock.advance_ms(3_600_000);
        worker.run_once().await.unwrap();
        assert_eq!(count(), 3, "no more than three attempts");
        let cbs = fx.client.atol_callbacks("").await.unwrap();
        assert_eq!((cbs.body[0]["state"].clone(), cbs.body[0]["attempts"].clone(), cbs.body[0]["last_status"].clone()), (json!("failed"), json!(3), json!(status)));
        fx.stop().await;
    }
}

#[tokio::test]
async fn tv30_no_callback_without_a_callable_url() {
    // ATOL-76, ATOL-78, ATOL-52
    let fx = fixture().await;
    fx.token().await;
    for (i, url) in [Some(json!("")), None, Some(json!("ftp://x")), Some(json!("http://"))].into_iter().enumerate() {
        let v = with(with(s(), "/service/callback_url", url), "/external_id", Some(json!(format!("nocb-{i}"))));
        fx.sell(&v).await;
    }
    // A rejected request gets no callback either.
    expect_8(&fx, "sell", with(with(s(), "/receipt/total", Some(json!(1))), "/external_id", Some(json!("rej"))), "rejected").await;
    fx.clock.advance_ms(301_000);
    assert_eq!(fx.expire().await, 4);
    assert_eq!(fx.client.atol_callbacks("").await.unwrap().body, json!([]));
    fx.stop().await;
}

#[tokio::test]
async fn callbacks_survive_a_restart() {
    // ATOL-76: the outbox is in the store; a new server delivers what the old one could not.
    use kassa_workers::{Worker, atol::AtolCallbacks};
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = receiver(200).await;
    let mk = || {
        let mut config = common::test_config();
        config.server.demo = true;
        config.atol.workers = false;
        config.server.data_dir = dir.path().to_owned();
        config
    };
    let clock = Arc::new(ManualClock::new(Fx::t0()));
    let app = Application::build_with(mk(), clock.clone(), Arc::new(SequenceIds::new(&[U1], &[A]))).await.unwrap();
    let client = Kassa::new(format!("http://{}", app.addr()));
    let core = app.core().clone();
    let stop = app.shutdown_token();
    let h = tokio::spawn(app.run_until_stopped());
    client.atol_token("netletest", "v2AfscRjr").await.unwrap();
    client.atol_register(GROUP, "sell", A, &with(s(), "/service/callback_url", Some(json!(url)))).await.unwrap();
    clock.advance_ms(301_000);
    core.atol().expire_queued(10).await.unwrap();
    stop.cancel();
    h.await.unwrap().unwrap();
    drop(core);
    let app = Application::build_with(mk(), clock.clone(), Arc::new(SequenceIds::new(&[], &[]))).await.unwrap();
    let core = app.core().clone();
    let stop = app.shutdown_token();
    let h = tokio::spawn(app.run_until_stopped());
    AtolCallbacks::new(core.clone()).run_once().await.unwrap();
    assert_eq!(got.lock().unwrap().len(), 1);
    assert_eq!(got.lock().unwrap()[0].1["uuid"], U1);
    stop.cancel();
    h.await.unwrap().unwrap();
}

// ---------------------------------------------------------------- admin, PostgreSQL

#[tokio::test]
async fn admin_lists_documents_with_their_reports() {
    let fx = fixture().await;
    fx.token().await;
    fx.sell(&s()).await;
    let r = fx.client.atol_documents("tenant=demo&group=MyCompany_MyShop&state=queued&limit=5").await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body[0]["uuid"], U1);
    assert_eq!(r.body[0]["report"]["error"]["code"], 16);
    assert!(r.body[0].get("body").is_none());
    let r = fx.client.atol_documents("state=done").await.unwrap();
    assert_eq!(r.body, json!([]));
    let unauth = fx.client.send(fx.client.request(Method::GET, "/api/atol/documents")).await.unwrap();
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    fx.stop().await;
}

#[tokio::test]
async fn registration_and_report_on_postgres() {
    // ATOL-48, ATOL-72, ATOL-94 on the PostgreSQL store
    let Some(fx) = fixture_with(&[U1, U2], true).await else { return common::skip_pg("registration_and_report_on_postgres") };
    fx.token().await;
    let r = fx.sell(&s()).await;
    assert_eq!((r.status, r.body["uuid"].clone()), (StatusCode::OK, json!(U1)));
    let r = fx.sell(&s()).await;
    assert_eq!((err(&r).0, r.body["uuid"].clone()), (10, json!(U1)));
    let r = fx.report(U1).await;
    assert_eq!((r.status, err(&r).0), (StatusCode::OK, 16));
    fx.clock.advance_ms(301_000);
    assert_eq!(fx.expire().await, 1);
    assert_eq!(err(&fx.report(U1).await).2, "timeout");
    fx.stop().await;
}

// ---------------------------------------------------------------- bad input

/// A small deterministic generator (xorshift), so failures replay from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    match rng.below(6) {
        0 => b.truncate(rng.below(b.len() + 1)),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len().max(1));
                if i < b.len() {
                    b[i] = rng.next() as u8;
                }
            }
        }
        2 => {
            let i = rng.below(b.len());
            let junk: &[&[u8]] = &[b"null", b"[]", b"{}", b"\"", b"1e999999", b"-0", b"\xff", b"{\"a\":", b"99999999999999999999999"];
            let j = junk[rng.below(junk.len())];
            b.splice(i..i, j.iter().copied());
        }
        3 => b = (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        4 => {
            // Swap a value for another type at a random member.
            let mut v: Value = serde_json::from_slice(base).unwrap();
            let ptrs = ["/receipt/items/0/price", "/receipt/total", "/receipt/payments", "/service", "/timestamp",
                        "/receipt/items", "/receipt/attributes/phone", "/external_id", "/receipt/items/1"];
            let repl = [json!(null), json!("s"), json!([]), json!({}), json!(-5), json!(true), num("1e400"), json!("я".repeat(300))];
            v = with(v, ptrs[rng.below(ptrs.len())], Some(repl[rng.below(repl.len())].clone()));
            b = serde_json::to_vec(&v).unwrap();
        }
        _ => {
            let depth = rng.below(200);
            b = format!("{}{}", "[".repeat(depth), "]".repeat(rng.below(depth + 1))).into_bytes();
        }
    }
    b
}

#[tokio::test]
async fn fuzz_bodies_and_paths_never_500_or_hang() {
    // ATOL-14, ATOL-48, ATOL-91, ATOL-23: every answer is a documented error or success.
    let fx = fixture_with(&[], false).await.unwrap();
    fx.token().await;
    let seed: u64 = std::env::var("ATOL_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::random::<u64>() | 1);
    eprintln!("ATOL_FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let base = serde_json::to_vec(&s()).unwrap();
    let segs = ["v3", "v2", "", "getToken", GROUP, "sell", "report", U1, "%", "%ff", "a.b", "sell_correction", "я", "%2F"];
    for i in 0..300 {
        let body = mutate(&mut rng, &base);
        let path = if i % 3 == 0 {
            let n = 1 + rng.below(5);
            let p: Vec<&str> = (0..n).map(|_| segs[rng.below(segs.len())]).collect();
            format!("/possystem/{}?tokenid={A}", p.join("/"))
        } else {
            let op = ["sell", "buy_refund", "sell_correction"][rng.below(3)];
            format!("/possystem/v3/{GROUP}/{op}?tokenid={A}")
        };
        let method = [Method::POST, Method::GET, Method::PUT][rng.below(3)].clone();
        let fut = fx.raw(method.clone(), &path, Some(body.clone()));
        let (st, b, ct) = tokio::time::timeout(std::time::Duration::from_secs(10), fut).await.expect("no hang");
        assert!(st.as_u16() < 500, "{method} {path} {}: {st}", String::from_utf8_lossy(&body));
        if st == StatusCode::NOT_FOUND {
            assert!(b.is_empty(), "{method} {path}");
            continue;
        }
        assert_eq!(ct.as_deref(), Some("application/json; charset=utf-8"));
        let v: Value = serde_json::from_slice(&b).unwrap();
        let code = v["error"]["code"].as_i64().or(v["code"].as_i64());
        assert!(code.is_none() || [0, 1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 22, 23].contains(&code.unwrap()), "{v}");
    }
    fx.stop().await;
}

#[tokio::test]
async fn token_that_cannot_be_stored_is_error_18() {
    // ATOL-34: the token store refuses the new token (here: the generator repeats A, which the
    // unique key rejects) → 18, HTTP 500, and no token.
    let mut config = common::test_config();
    config.server.demo = true;
    config.atol.workers = false;
    config.tenants.push(other_tenant());
    let dir = tempfile::tempdir().unwrap();
    config.server.data_dir = dir.path().to_owned();
    let app = Application::build_with(config, Arc::new(ManualClock::new(Fx::t0())), Arc::new(SequenceIds::new(&[], &[A, A])))
        .await
        .unwrap();
    let client = Kassa::new(format!("http://{}", app.addr()));
    let stop = app.shutdown_token();
    let h = tokio::spawn(app.run_until_stopped());
    assert_eq!(client.atol_token("netletest", "v2AfscRjr").await.unwrap().body["token"], A);
    let r = client.atol_token("othershop", "pw2").await.unwrap();
    assert_eq!((r.status, r.body.clone()), (StatusCode::INTERNAL_SERVER_ERROR, json!({"code": 18, "text": "Не удалось сформировать токен", "token": ""})));
    stop.cancel();
    h.await.unwrap().unwrap();
}

#[tokio::test]
async fn external_id_reservations_outlive_30_days() {
    // ATOL-74 (D-29): accepted documents and their external_id are kept (never deleted).
    let fx = fixture().await;
    fx.token().await;
    fx.sell(&s()).await;
    fx.clock.advance_ms(31 * 24 * H);
    let token = fx.client.atol_token("netletest", "v2AfscRjr").await.unwrap().body["token"].as_str().unwrap().to_owned();
    let r = fx.client.atol_register(GROUP, "sell", &token, &s()).await.unwrap();
    assert_eq!((err(&r).0, r.body["uuid"].clone()), (10, json!(U1)));
    let r = fx.client.atol_report(GROUP, U1, &token).await.unwrap();
    assert_eq!(r.body["uuid"], U1);
    fx.stop().await;
}
