//! In-process integration tests: a real server on 127.0.0.1:0 per test, driven over HTTP.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use kassa_store::Face;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn tenant_json(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Shop",
        "atol_login": [{"login": format!("{id}-login"), "pass": "pw-123", "groups": [format!("{id}_G")]}],
        "group": [{"code": format!("{id}_G"), "inn": "7701234567", "payment_address": "shop.ru", "sno": ["osn"]}],
        "register": [
            {"id": format!("{id}-R1"), "profile": "ru", "group": format!("{id}_G")},
            {"id": format!("{id}-R2"), "profile": "ru", "group": format!("{id}_G"), "role": "reserve"}
        ],
        "loyalty": {"access_key": "password", "rule": [
            {"kind": "item_discount", "id": "d1", "target": {"product": "120474"}, "percent": 10},
            {"kind": "min_price", "id": "m1", "target": "all", "price": 0.01}
        ]}
    })
}

#[tokio::test]
async fn healthz_and_readyz_on_sqlite() {
    let app = spawn_app().await;
    let r = app.client.healthz().await.unwrap();
    assert_eq!((r.status, r.body), (StatusCode::OK, json!({"status": "ok"})));
    let r = app.client.readyz().await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"status": "ready", "store": "sqlite"}));
    app.stop().await;
}

#[tokio::test]
async fn healthz_and_readyz_on_postgres() {
    let Some(app) = spawn_app_pg(test_config()).await else { return skip_pg("healthz_and_readyz_on_postgres") };
    let r = app.client.readyz().await.unwrap();
    assert_eq!(r.body, json!({"status": "ready", "store": "postgres"}));
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_a_closed_store() {
    let app = spawn_app().await;
    app.core.store.close().await;
    let r = app.client.readyz().await.unwrap();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body["status"], "unavailable");
}

#[tokio::test]
async fn admin_api_requires_the_token() {
    let app = spawn_app().await;
    let anonymous = kassa_client::Kassa::new(app.url(""));
    let r = anonymous.tenants().await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["error"]["code"], "unauthorized");
    let wrong = kassa_client::Kassa::new(app.url("")).with_admin_token("test-admin-token-012345678X");
    assert_eq!(wrong.put_tenant("a", &tenant_json("a")).await.unwrap().status, StatusCode::UNAUTHORIZED);
    assert!(app.client.tenants().await.unwrap().body.as_array().unwrap().is_empty(), "nothing was applied");
    app.stop().await;
}

#[tokio::test]
async fn put_tenant_is_idempotent_and_readable() {
    let app = spawn_app().await;
    let r = app.client.put_tenant("shop", &tenant_json("shop")).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["created_tenant"], true);
    assert!(r.body["changed_rows"].as_u64().unwrap() > 0);
    let r = app.client.put_tenant("shop", &tenant_json("shop")).await.unwrap();
    assert_eq!(r.body, json!({"created_tenant": false, "changed_rows": 0}));

    let v = app.client.tenant("shop").await.unwrap().body;
    assert_eq!(v["registers"].as_array().unwrap().len(), 2);
    assert_eq!(v["registers"][1]["role"], "reserve");
    // Money and percent arrive exactly and are stored as integers.
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules[0]["percent_bp"], 1000);
    assert_eq!(rules[1]["price_minor"], 1);
    assert!(v.to_string().find("pw-123").is_none(), "secrets are never returned");
    assert_eq!(app.client.tenants().await.unwrap().body, json!([{"id": "shop", "name": "Shop", "registers": 2}]));

    // The faces authenticate against what was applied.
    let login = app.core.store.credential(Face::Atol, "shop-login").await.unwrap().unwrap();
    assert!(login.secret_matches("pw-123"));

    // Leaving a register out deactivates it; it stays readable.
    let mut spec = tenant_json("shop");
    spec["register"].as_array_mut().unwrap().pop();
    let r = app.client.put_tenant("shop", &spec).await.unwrap();
    assert_eq!(r.body["changed_rows"], 1);
    let v = app.client.tenant("shop").await.unwrap().body;
    assert_eq!(v["registers"][1]["active"], false);
    app.stop().await;
}

#[tokio::test]
async fn bad_tenant_documents_name_the_problem() {
    let app = spawn_app().await;
    let mut spec = tenant_json("shop");
    spec["group"][0]["inn"] = json!("123");
    let r = app.client.put_tenant("shop", &spec).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"]["code"], "invalid");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("group[0].inn"), "{}", r.body);

    let mut spec = tenant_json("shop");
    spec["regsiter"] = json!([]);
    let r = app.client.put_tenant("shop", &spec).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("regsiter"), "{}", r.body);

    let mut spec = tenant_json("shop");
    spec["loyalty"]["rule"][1]["price"] = json!(0.001);
    let r = app.client.put_tenant("shop", &spec).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "money with 3 decimals is refused, not rounded");

    let r = app.client.put_tenant("other", &tenant_json("shop")).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("differs from the path"));

    let raw = app
        .client
        .request(Method::PUT, "/api/tenants/shop")
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{\"id\": \"shop\", ");
    let r = app.client.send(raw).await.unwrap();
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "malformed JSON is an invalid request, not a 500");

    let huge = format!("{{\"id\":\"shop\",\"name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let raw = app
        .client
        .request(Method::PUT, "/api/tenants/shop")
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(huge);
    let r = app.client.send(raw).await.unwrap();
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["error"]["code"], "payload_too_large");
    assert!(app.client.tenants().await.unwrap().body.as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn one_tenant_cannot_take_anothers_register_or_login() {
    let app = spawn_app().await;
    assert_eq!(app.client.put_tenant("a", &tenant_json("a")).await.unwrap().status, StatusCode::OK);
    let mut b = tenant_json("b");
    b["register"][0]["id"] = json!("a-R1");
    let r = app.client.put_tenant("b", &b).await.unwrap();
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("a-R1"));
    let mut b = tenant_json("b");
    b["atol_login"][0]["login"] = json!("a-login");
    assert_eq!(app.client.put_tenant("b", &b).await.unwrap().status, StatusCode::CONFLICT);
    assert_eq!(app.client.tenant("b").await.unwrap().status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_the_error_envelope() {
    let app = spawn_app().await;
    for path in ["/api/nope", "/nope", "/api/tenants/a/b"] {
        let r = app.client.send(app.client.request(Method::GET, path).bearer_auth(ADMIN_TOKEN)).await.unwrap();
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body["error"]["code"], "not_found", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn openapi_documents_every_admin_route() {
    let app = spawn_app().await;
    app.client.put_tenant("demo", &tenant_json("demo")).await.unwrap();
    // The loyalty adjustment route needs a client to adjust.
    let r = app.client.send(app.client.request(Method::PUT, "/api/tenants/demo/loyalty/clients").bearer_auth(ADMIN_TOKEN).json(&json!({"id": "c1"}))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let doc = app.client.openapi().await.unwrap();
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_none() {
                continue;
            }
            documented.push(format!("{method} {path}"));
            // Path parameters and bodies come from the documented `example`s; else the demo tenant.
            let op = &item[method];
            let mut concrete = path.replace("{id}", "demo");
            for p in op["parameters"].as_array().into_iter().flatten() {
                if let (Some("path"), Some(name), Some(ex)) = (p["in"].as_str(), p["name"].as_str(), p["example"].as_str()) {
                    concrete = concrete.replace(&format!("{{{name}}}"), ex);
                }
            }
            let concrete = format!("/api{concrete}");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut req = app.client.request(m, &concrete).bearer_auth(ADMIN_TOKEN);
            if let Some(example) = op.pointer("/requestBody/content/application~1json/example") {
                req = req.json(example);
            } else if method == "put" {
                req = req.json(&tenant_json("demo"));
            }
            if path == "/events/rules/{id}" && method == "put" {
                req = req.json(&serde_json::json!({"rules": {"payment_cancelled": true}}));
            }
            if path == "/events/stream" {
                // An endless SSE response: check the status only.
                let resp = req.send().await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK, "documented route {method} {path} answers");
                continue;
            }
            if path == "/tenants/{id}/loyalty/adjustments" {
                req = req.json(&json!({"client": "c1", "amount": "1.00"}));
            }
            // A route documented with a non-JSON success body (e.g. image/png) is checked raw.
            let content = op.pointer("/responses/200/content").and_then(|c| c.as_object());
            if content.is_some_and(|c| !c.contains_key("application/json")) {
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK, "documented route {method} {path} answers");
                let documented_type = content.and_then(|c| c.keys().next().cloned());
                assert_eq!(r.headers()["content-type"].to_str().ok().map(str::to_owned), documented_type, "{method} {path}");
                continue;
            }
            let r = app.client.send(req).await.unwrap();
            assert_eq!(r.status, StatusCode::OK, "documented route {method} {path} answers");
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            "get /atol/callbacks",
            "get /atol/documents",
            "get /events",
            "get /events/groups/{id}",
            "get /events/rules/{id}",
            "get /events/stream",
            "get /fiscal/verify",
            "get /ofd",
            "get /openapi.json",
            "get /registers/{register_id}",
            "get /registers/{register_id}/documents/{seq}/image",
            "get /registers/{register_id}/documents/{seq}/text",
            "get /registers/{register_id}/journal",
            "get /tenants",
            "get /tenants/{id}",
            "get /tenants/{id}/loyalty/audit",
            "get /tenants/{id}/loyalty/clients",
            "get /tenants/{id}/loyalty/documents",
            "get /tenants/{id}/loyalty/entries",
            "get /tenants/{id}/loyalty/ledger-check",
            "get /tenants/{id}/loyalty/rules",
            "post /registers/{register_id}/documents",
            "post /tenants/{id}/loyalty/adjustments",
            "put /events/rules/{id}",
            "put /ofd/mode",
            "put /registers/{register_id}/faults",
            "put /tenants/{id}",
            "put /tenants/{id}/loyalty/clients",
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_listener_counts_requests() {
    let mut config = test_config();
    config.server.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let app = spawn_app_with(config).await;
    app.client.healthz().await.unwrap();
    app.client.healthz().await.unwrap();
    let text = reqwest::get(format!("http://{}/metrics", app.metrics_addr.unwrap())).await.unwrap().text().await.unwrap();
    assert!(
        text.contains(r#"kassa_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
        "metrics:\n{text}"
    );
    assert!(text.contains("kassa_http_request_duration_seconds_bucket"));
    // The main listener does not expose them.
    let r = app.client.send(app.client.request(Method::GET, "/metrics")).await.unwrap();
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn demo_sandbox_is_provisioned_and_its_curl_example_works() {
    let mut config = test_config();
    config.server.demo = true;
    let app = spawn_app_with(config).await;
    let v = app.client.tenant("demo").await.unwrap();
    assert_eq!(v.status, StatusCode::OK);
    let atol = app.core.store.credential(Face::Atol, "netletest").await.unwrap().expect("ATOL demo login");
    assert!(atol.secret_matches("v2AfscRjr"));
    assert_eq!(atol.scope, ["MyCompany_MyShop"]);
    let key = kassa_store::secret_hash("KgZDeanhd0wkRseleZvWhkPSR7d3Fggak");
    assert!(app.core.store.credential(Face::Itkassa, &key).await.unwrap().is_some());
    let loyalty = app.core.store.credential(Face::Loyalty, "demo").await.unwrap().unwrap();
    assert!(loyalty.secret_matches("password"));
    let group = &v.body["groups"][0];
    assert_eq!((group["inn"].as_str(), group["payment_address"].as_str()), (Some("331122667723"), Some("magazin.ru")));
    let ids: Vec<&str> = v.body["registers"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(ids.contains(&"KSR13.00-1-11") && ids.contains(&"KSR13.00-1-12"));

    // The summary's curl examples, run as written.
    let summary = kassa_core::demo::summary(&app.url(""), ADMIN_TOKEN);
    let curl = summary.lines().map(str::trim).find(|l| l.starts_with("curl") && l.contains("Bearer")).unwrap();
    let url = curl.split_whitespace().last().unwrap();
    assert!(curl.contains(&format!("Authorization: Bearer {ADMIN_TOKEN}")));
    let r = reqwest::Client::new().get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // ATOL-29: the getToken line gets a token for the demo login.
    let get_token = summary.lines().map(str::trim).find(|l| l.starts_with("curl") && l.contains("getToken")).unwrap();
    let body = get_token.split('\'').nth(1).unwrap();
    let url = get_token.split_whitespace().last().unwrap();
    let r = reqwest::Client::new().post(url).body(body.to_owned()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let answer: serde_json::Value = r.json().await.unwrap();
    assert!(answer["token"].as_str().is_some_and(|t| !t.is_empty()), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn configured_tenants_apply_at_start_and_restart_changes_nothing() {
    let mut config = kassa::config::Config::parse(kassa::config::EXAMPLE).unwrap();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.metrics_listen = None;
    config.server.admin_token = Some(ADMIN_TOKEN.into());
    let dir = tempfile::tempdir().unwrap();
    config.server.data_dir = dir.path().to_owned();
    let app = start(config.clone()).await;
    let first = app.client.tenant("shop1").await.unwrap().body;
    assert_eq!(first["registers"].as_array().unwrap().len(), 3);
    app.stop().await;
    // Same file again: identical state.
    let app = start(config.clone()).await;
    assert_eq!(app.client.tenant("shop1").await.unwrap().body, first);
    app.stop().await;
    // An entry removed from the file is deactivated, never deleted.
    config.tenants[0].registers.retain(|r| r.id != "KZ-0001");
    let app = start(config).await;
    let v = app.client.tenant("shop1").await.unwrap().body;
    let kz = v["registers"].as_array().unwrap().iter().find(|r| r["id"] == "KZ-0001").unwrap().clone();
    assert_eq!(kz["active"], false);
    app.stop().await;
}
