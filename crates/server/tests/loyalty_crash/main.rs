//! Crash safety of the loyalty ledger: the real `kassa` binary is SIGKILLed during a storm of
//! payByBonus / confirm / refund requests, restarted, and checked — the ledger balances, every
//! acknowledged confirm is stored, and no document was accrued, captured or refunded twice
//! (LOY-56, LOY-80, LOY-83).

#[path = "../common/mod.rs"]
mod common;
#[path = "../loyalty/examples.rs"]
#[allow(dead_code)]
mod examples;

use common::process::Server;
use common::{ADMIN_TOKEN, FreshPg, skip_pg};
use examples::*;
use kassa_client::Kassa;
use kassa_domain::loyalty::auth::token;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;


async fn frontol(c: &Kassa, body: &str) -> Option<Value> {
    let req = c
        .request(Method::POST, "/frontol/document")
        .header("Authorization", format!("FrontolAuth {}", token("password", body.as_bytes())))
        .body(body.to_owned());
    match c.send(req).await {
        Ok(r) if r.status == StatusCode::OK => Some(r.body),
        _ => None,
    }
}

async fn admin(c: &Kassa, path: &str) -> Value {
    let r = c.send(c.request(Method::GET, &format!("/api/tenants/demo/loyalty{path}")).bearer_auth(ADMIN_TOKEN)).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

/// All ledger entries, following the pages.
async fn all_entries(c: &Kassa) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let page = admin(c, &format!("/entries?limit=1000{before}")).await;
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            return out;
        }
        before = format!("&before={}", page.last().unwrap()["seq"]);
        out.extend(page);
    }
}

fn sale(uid: &str, bonus: u32) -> String {
    let b = CONFIRM.replacen(SALE_UID, uid, 1);
    b.replacen("\"amount\": 600.00", &format!("\"amount\": {bonus}.00"), 1)
}

fn pay(uid: &str, bonus: u32) -> String {
    PAY.replacen(SALE_UID, uid, 1).replacen("\"amount\": 600.00", &format!("\"amount\": {bonus}.00"), 1)
}

fn refund(uid: &str, sale_uid: &str) -> String {
    REFUND.replacen("947277c5-04d5-4ef4-9150-385214b42367", uid, 1).replacen(SALE_UID, sale_uid, 1)
}

/// One document's story: pay, confirm (maybe twice), refund; returns the uids whose confirm
/// was acknowledged with code 0.
async fn story(c: Kassa, n: usize) -> Vec<String> {
    let uid = format!("crash-{n}");
    let mut acked = Vec::new();
    let bonus = 1 + (n % 3) as u32;
    if frontol(&c, &pay(&uid, bonus)).await.is_none() {
        return acked;
    }
    for _ in 0..2 {
        match frontol(&c, &sale(&uid, bonus)).await {
            Some(v) if v["code"] == 0 => acked.push(uid.clone()),
            Some(v) => panic!("confirm answered {v}"),
            None => return acked,
        }
    }
    if n.is_multiple_of(2) {
        match frontol(&c, &refund(&format!("refund-{n}"), &uid)).await {
            Some(v) if v["code"] == 0 => acked.push(format!("refund-{n}")),
            Some(v) => panic!("refund answered {v}"),
            None => {}
        }
    }
    acked
}

async fn storm_kill_restart(store: Vec<String>) {
    let seed: u64 = std::env::var("KASSA_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
    });
    eprintln!("loyalty crash test seed {seed} (replay with KASSA_CRASH_SEED={seed})");
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut next = 0usize;
    for round in 0..3u64 {
        let mut server = Server::start(&["--demo"], &store);
        server.wait_healthy().await;
        let client = server.client.clone();
        let start = next;
        let storm = tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = start;
            loop {
                let wave: Vec<_> = (n..n + 16).map(|k| tokio::spawn(story(client.clone(), k))).collect();
                let mut alive = true;
                for w in wave {
                    let a = w.await.unwrap();
                    acked.extend(a);
                }
                n += 16;
                if client.healthz().await.is_err() {
                    alive = false;
                }
                if !alive {
                    return (acked, n);
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(150 + seed.wrapping_mul(round + 3) % 350)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        let (acked, upto) = storm.await.unwrap();
        acknowledged.extend(acked);
        next = upto;
    }
    let mut server = Server::start(&["--demo"], &store);
    server.wait_healthy().await;
    let c = server.client.clone();
    let check = admin(&c, "/ledger-check").await;
    assert_eq!(check["balanced"], true, "seed {seed}: {check}");
    let docs = admin(&c, "/documents?limit=1000").await;
    let stored: BTreeSet<String> = docs.as_array().unwrap().iter().map(|d| d["uid"].as_str().unwrap().to_owned()).collect();
    for uid in &acknowledged {
        assert!(stored.contains(uid), "acknowledged document {uid} lost after SIGKILL (seed {seed})");
    }
    // At most one accrual, one capture and one reversal per document.
    let mut per_doc: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in all_entries(&c).await {
        if let Some(uid) = e["doc_uid"].as_str() {
            *per_doc.entry((uid.to_owned(), e["kind"].as_str().unwrap().to_owned())).or_default() += 1;
        }
    }
    for ((uid, kind), n) in &per_doc {
        assert!(*n <= 1 || kind == "hold" || kind == "release", "{kind} written {n} times for {uid} (seed {seed})");
    }
    for d in docs.as_array().unwrap() {
        if d["doc_type"] == "receipt" {
            let uid = d["uid"].as_str().unwrap();
            assert_eq!(per_doc.get(&(uid.to_owned(), "accrual".to_owned())), Some(&1), "sale {uid} accrued once (seed {seed})");
        }
    }
    // A confirm replayed after the restart changes nothing.
    if let Some(uid) = acknowledged.iter().find(|u| u.starts_with("crash-")) {
        let n: usize = uid.trim_start_matches("crash-").parse().unwrap();
        let before = admin(&c, "/clients?client=demo-client").await[0]["account"].clone();
        let v = frontol(&c, &sale(uid, 1 + (n % 3) as u32)).await.unwrap();
        assert_eq!(v["code"], 0);
        assert_eq!(admin(&c, "/clients?client=demo-client").await[0]["account"], before);
    }
    eprintln!("{} acknowledged loyalty documents survived 3 SIGKILLs", acknowledged.len());
    assert!(!acknowledged.is_empty(), "the storm got nothing through (seed {seed})");
}

#[tokio::test]
async fn sigkill_during_a_confirm_storm_keeps_the_ledger_exact_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    storm_kill_restart(vec!["--data-dir".into(), dir.path().display().to_string()]).await;
}

#[tokio::test]
async fn sigkill_during_a_confirm_storm_keeps_the_ledger_exact_on_postgres() {
    let Some(pg) = FreshPg::create().await else { return skip_pg("sigkill_during_a_confirm_storm_keeps_the_ledger_exact_on_postgres") };
    storm_kill_restart(vec!["--database-url".into(), pg.url.clone()]).await;
}
