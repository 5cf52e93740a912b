//! Process-level test of `kassa pos` as a Frontol loyalty client (frontol-loyalty.md §9) against
//! the real `kassa serve --demo`: prechecks, bonus payments, confirms and refunds reach the
//! loyalty face; the server is SIGKILLed mid-run and restarted, and the confirms the simulator
//! queued meanwhile (LOY-34, LOY-54, §9.7) are delivered exactly once (LOY-80, LOY-74). The
//! simulator reads nothing from the answers to queued confirms, and the ledger is still exact
//! (LOY-77).
//! Also: the event collector's configurable path prefix (EVT-2), used by `kassa pos`.

#[path = "../common/mod.rs"]
mod common;

use common::process::{BIN, Server, free_port};
use common::{ADMIN_TOKEN, FreshPg, skip_pg};
use kassa_money::{Money, Percent};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORK_PLACE: &str = "POS loyalty";
const DEMO_CARD: &str = "9070000000001000";
const DEMO_PHONE: &str = "+79211022546";

/// `kassa serve --demo` on `port`, answering.
async fn start_demo(port: u16, store: &[String]) -> Server {
    let mut server = Server::start_on(port, &["--demo"], store);
    server.wait_healthy().await;
    server
}

/// An admin read of the demo tenant's loyalty API.
async fn admin(server: &Server, path: &str) -> Value {
    let c = &server.client;
    let r = c.send(c.request(Method::GET, &format!("/api/tenants/demo/loyalty{path}")).bearer_auth(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

async fn balance(server: &Server) -> Money {
    money(&admin(server, "/clients?client=demo-client").await[0]["account"]["balance"])
}

fn money(v: &Value) -> Money {
    serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("not an amount: {v}"))
}

/// What the events of one document group say.
#[derive(Default, Debug)]
struct Group {
    kind: String,
    card: Option<String>,
    card_cancelled: bool,
    closed: bool,
    /// `sum` of REG_DOCUMENT_CLOSE: the document after its loyalty discounts.
    sum: Money,
    discount: Money,
    /// Bonus paid (REG_PAYMENT_REGISTRATION `other`/`nonFiscal`) minus bonus payments cancelled.
    bonus: Money,
    has_discounted_goods: bool,
}

fn groups(events: &[Value]) -> BTreeMap<String, Group> {
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    // An event resent after a lost answer is counted once (its raw form is unique in the run).
    let mut seen = BTreeSet::new();
    for e in events {
        if !seen.insert(e["raw"].to_string()) {
            continue;
        }
        let g = out.entry(e["groupId"].as_str().unwrap().to_owned()).or_default();
        let name = e["event"].as_str().unwrap();
        let get = |k: &str| e["raw"].get(k).cloned().unwrap_or(Value::Null);
        match name {
            "REG_DOCUMENT_OPEN" => g.kind = get("type").as_str().unwrap_or("").to_owned(),
            "REG_CARD_REGISTRATION" => g.card = get("barcode").as_str().map(str::to_owned),
            "REG_CARD_CANCEL" => g.card_cancelled = true,
            "REG_POSITION_REGISTRATION" if get("id").as_str() == Some("120474") => g.has_discounted_goods = true,
            "REG_PAYMENT_REGISTRATION" if get("mode").as_str() == Some("nonFiscal") => g.bonus += money(&get("payment")),
            "REG_PAYMENT_CANCEL" if get("mode").as_str() == Some("nonFiscal") => g.bonus -= money(&get("payment")),
            "REG_DOCUMENT_CLOSE" => {
                g.closed = true;
                g.sum = money(&get("sum"));
                g.discount = money(&get("discount"));
            }
            _ => {}
        }
    }
    out
}

async fn pos_with_loyalty_survives_a_server_kill(store: Vec<String>, dir: &std::path::Path) {
    let port = free_port();
    let mut server = start_demo(port, &store).await;
    let opening = balance(&server).await;
    let pos = Command::new(BIN)
        .args(["pos", "--url", &format!("http://127.0.0.1:{port}"), "--loyalty-key", "password", "--work-place", WORK_PLACE])
        .arg("--outbox")
        .arg(dir.join("outbox.db"))
        .args(["--sales", "160", "--interval-ms", "25", "--sim-step-secs", "60", "--start", "2026-01-01T08:00:00+03:00"])
        .args(["--backoff-ms", "100", "--backoff-max-ms", "400", "--timeout-ms", "2000", "--drain-secs", "60", "--seed", "11"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Some loyalty documents go through, then the server dies (SIGKILL) and is away for a while.
    let started = Instant::now();
    while admin(&server, "/documents?limit=1000").await.as_array().unwrap().len() < 4 {
        assert!(started.elapsed() < Duration::from_secs(60), "the simulator confirms nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill9();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let server = start_demo(port, &store).await;
    let out = tokio::task::spawn_blocking(move || pos.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success());
    let summary: Value = serde_json::from_slice(out.stdout.trim_ascii()).expect("a JSON summary line");
    eprintln!("kassa pos: {summary}");
    let l = |k: &str| summary["loyalty"][k].as_u64().unwrap();
    assert!(l("confirms_queued") > 0, "the outage made the simulator queue confirms (LOY-54): {summary}");
    assert_eq!(l("confirms_left_in_queue"), 0, "the confirm queue drained (§9.7)");
    assert!(l("bonus_payments") > 0, "some sales paid with bonus");
    assert_eq!(summary["left_in_queue"], 0, "the event queue drained");

    // The events of the run, by document (EVT-42..EVT-47 deliver them after the outage too).
    let events = server.client.all_events(&[("workPlace", WORK_PLACE)]).await.unwrap();
    let groups = groups(&events);
    let demo = |c: &Option<String>| matches!(c.as_deref(), Some(DEMO_CARD | DEMO_PHONE));
    // Every closed document with the demo client's card or phone that the server did not refuse
    // at precheck (LOY-57) was confirmed (LOY-34, LOY-35, LOY-58: also after an offline precheck).
    let expected: BTreeSet<&str> = groups.iter().filter(|(_, g)| g.closed && demo(&g.card) && !g.card_cancelled).map(|(k, _)| k.as_str()).collect();
    // A card the server does not know whose precheck met the outage (LOY-28) is still confirmed;
    // the server refuses it (code 4), the POS logs it and never resends it (LOY-55), and the
    // server keeps it flagged for manual work (LOY-56).
    let unknown: BTreeSet<&str> =
        groups.iter().filter(|(_, g)| g.closed && g.card.is_some() && !demo(&g.card) && !g.card_cancelled).map(|(k, _)| k.as_str()).collect();
    let flagged = admin(&server, "/audit?flagged=true&limit=1000").await;
    let refused: BTreeSet<&str> =
        flagged.as_array().unwrap().iter().filter(|r| r["action"] == "confirm").map(|r| &r["uid"].as_str().unwrap()[..8]).collect();
    assert_eq!(refused, unknown, "refused confirms are the unknown cards'");
    assert_eq!(l("confirms_refused"), unknown.len() as u64, "each refused confirm sent once");
    // LOY-21: the POS sends loyalty requests only for documents with a card (or phone).
    let audit = admin(&server, "/audit?limit=1000").await;
    let audit = audit.as_array().unwrap();
    assert!(audit.len() > 20 && audit.len() < 1000, "{} audit records", audit.len());
    for r in audit {
        let uid = r["uid"].as_str().unwrap_or_default();
        assert!(groups.get(uid.get(..8).unwrap_or_default()).is_some_and(|g| g.card.is_some()), "a request without a card: {r}");
    }
    let docs = admin(&server, "/documents?limit=1000").await;
    let docs = docs.as_array().unwrap();
    let by_group: BTreeMap<&str, &Value> = docs.iter().map(|d| (&d["uid"].as_str().unwrap()[..8], d)).collect();
    assert_eq!(by_group.len(), docs.len(), "one document per sale");
    assert_eq!(by_group.keys().copied().collect::<BTreeSet<_>>(), expected, "every confirmed sale is a loyalty document, and only those");
    assert_eq!(docs.len() as u64, l("confirms_direct") + l("confirms_from_queue"), "each confirm delivered once");
    for d in docs {
        assert_eq!(d["client_id"], "demo-client", "{d}");
        assert_eq!(d["state"], "confirmed", "{d}");
        let g = &groups[&d["uid"].as_str().unwrap()[..8]];
        assert_eq!(d["doc_type"].as_str().unwrap(), g.kind, "{d}");
        // LOY-35: a refund names its sale, a loyalty document of this run.
        if g.kind == "refundReceipt" {
            assert!(by_group.contains_key(&d["reference_uid"].as_str().unwrap()[..8]), "{d}");
        }
    }
    // The events reflect the loyalty answers: the demo rule gives 10 % on product 120474 only.
    assert!(groups.values().any(|g| g.discount > Money::ZERO), "some precheck discount reached the events");
    assert!(groups.values().all(|g| g.discount.is_zero() || g.has_discounted_goods), "discounts only where the rules give them");

    let check = admin(&server, "/ledger-check").await;
    assert_eq!(check["balanced"], true, "{check}");

    // The ledger of this run: per document at most one accrual (no double accrual after the
    // replays, LOY-80); accrual = 5 % of the fiscal payments (demo rule), capture = the bonus
    // the events show (LOY-83); the balance moved by exactly accruals − debits ± refund effects.
    let entries = admin(&server, "/entries?client=demo-client&limit=1000").await;
    let mut per_doc: BTreeMap<(String, String), (usize, Money)> = BTreeMap::new();
    let mut refund_effect = Money::ZERO;
    for e in entries.as_array().unwrap() {
        let Some(uid) = e["doc_uid"].as_str() else { continue };
        let kind = e["kind"].as_str().unwrap().to_owned();
        let slot = per_doc.entry((uid[..8].to_owned(), kind.clone())).or_insert((0, Money::ZERO));
        slot.0 += 1;
        slot.1 += money(&e["amount"]);
        if matches!(kind.as_str(), "accrual_reversal" | "bonus_return") {
            refund_effect += money(&e["balance_delta"]);
        }
    }
    let pct = Percent::from_basis_points(500);
    let (mut accrued, mut spent) = (Money::ZERO, Money::ZERO);
    for g in groups.iter().filter(|(k, _)| by_group.contains_key(k.as_str())) {
        let (key, grp) = g;
        if grp.kind != "receipt" {
            continue;
        }
        let accrual = pct.of(grp.sum - grp.bonus);
        let got = per_doc.get(&(key.clone(), "accrual".into())).copied().unwrap_or((0, Money::ZERO));
        assert!(got.0 <= 1, "one accrual for {key}");
        assert_eq!(got.1, accrual, "accrual of {key}");
        let captured = per_doc.get(&(key.clone(), "capture".into())).map_or(Money::ZERO, |c| c.1)
            + per_doc.get(&(key.clone(), "debit".into())).map_or(Money::ZERO, |c| c.1);
        assert_eq!(captured, grp.bonus, "bonus of {key}");
        accrued += accrual;
        spent += grp.bonus;
    }
    assert!(accrued > Money::ZERO);
    let balance = balance(&server).await;
    assert_eq!(balance - opening, accrued - spent + refund_effect, "balance {opening} → {balance}: +{accrued} −{spent} {refund_effect}");
}

#[tokio::test]
async fn kassa_pos_loyalty_sales_settle_once_across_a_server_kill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = vec!["--data-dir".to_owned(), dir.path().join("server").display().to_string()];
    pos_with_loyalty_survives_a_server_kill(store, dir.path()).await;
}

#[tokio::test]
async fn kassa_pos_loyalty_sales_settle_once_across_a_server_kill_on_postgres() {
    let Some(pg) = FreshPg::create().await else { return skip_pg("kassa_pos_loyalty_sales_settle_once_across_a_server_kill_on_postgres") };
    let dir = tempfile::tempdir().unwrap();
    pos_with_loyalty_survives_a_server_kill(vec!["--database-url".into(), pg.url.clone()], dir.path()).await;
}

/// EVT-2: with `[events] prefix = "/pos"` the collector also answers at `/pos/events` (and still
/// at `/frontol/events`); `kassa pos --url http://host/pos` posts its events there.
#[tokio::test]
async fn evt_2_the_collector_answers_at_the_configured_prefix() {
    let mut config = common::test_config();
    config.events.prefix = Some("/pos".into());
    let app = common::spawn_app_with(config).await;
    let batch = |wp: &str| {
        serde_json::json!({"organization": "ООО Ромашка", "businessUnit": "b", "workPlace": wp, "events": [
            {"event": "ACT_ACTIVITY", "groupId": "1", "dateTime": "2026-01-01T10:00:00.000+03:00", "cashierName": "К", "index": 0, "input": ""}]})
    };
    for (path, wp) in [("/pos/events", "prefixed"), ("/frontol/events", "default")] {
        let r = app.client.send(app.client.request(Method::POST, path).json(&batch(wp))).await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["status"], "OK", "{path}: {}", r.body);
        assert_eq!(app.client.all_events(&[("workPlace", wp)]).await.unwrap().len(), 1, "{path}");
    }
    let r = app.client.send(app.client.request(Method::POST, "/other/events").json(&batch("x"))).await.unwrap();
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The simulator pointed at the prefix: its events arrive through /pos/events.
    let dir = tempfile::tempdir().unwrap();
    let mut pos = Command::new(BIN);
    pos.args(["pos", "--url", &format!("http://{}/pos", app.addr), "--work-place", "POS prefixed", "--sales", "3", "--interval-ms", "0", "--drain-secs", "5"])
        .arg("--outbox")
        .arg(dir.path().join("outbox.db"))
        .stderr(Stdio::null());
    // The server runs on this test's runtime: wait for the simulator off it.
    let out = tokio::task::spawn_blocking(move || pos.output()).await.unwrap().unwrap();
    assert!(out.status.success());
    let summary: Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
    assert_eq!(summary["sent_direct"], summary["generated"], "{summary}");
    let stored = app.client.all_events(&[("workPlace", "POS prefixed")]).await.unwrap();
    assert_eq!(stored.len() as u64, summary["generated"].as_u64().unwrap());
}
