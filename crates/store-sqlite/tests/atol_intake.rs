//! The SQLite ATOL acceptance log: documents are found, deduplicated (ATOL-71/72), queued in
//! order (ATOL-5) and moved the same whether they are still in the log, folded into the indexed
//! table by the idle writer, or reloaded from the log after a restart.

use kassa_store::Store;
use kassa_store::atol::*;
use kassa_store_sqlite::SqliteStore;
use std::time::Duration;

fn doc(uuid: &str, ext: Option<&str>, now: i64) -> NewAtolDocument {
    NewAtolDocument {
        uuid: uuid.into(),
        tenant_id: "t1".into(),
        group_code: "g1".into(),
        operation: "sell".into(),
        external_id: ext.map(Into::into),
        state: if ext.is_some() { "queued" } else { "rejected" }.into(),
        timestamp: format!("ts-{uuid}"),
        callback_url: "http://cb".into(),
        body: "{}".into(),
        error: None,
        now_ms: now,
    }
}

fn moved(uuid: &str, from: &str, to: &str, callback: bool, now: i64) -> AtolTransition {
    AtolTransition {
        uuid: uuid.into(),
        from_state: from.into(),
        from_attempts: None,
        to_state: to.into(),
        attempts: 1,
        error: None,
        daemon_code: String::new(),
        device_code: String::new(),
        payload: None,
        requeue_at_ms: None,
        callback: callback.then(|| NewAtolCallback { url: "http://cb".into(), body: "{}".into(), next_at_ms: now }),
        now_ms: now,
    }
}

async fn insert(s: &SqliteStore, d: NewAtolDocument) -> AtolInsert {
    s.atol_insert_documents(&[d]).await.expect("insert").pop().expect("one answer")
}

async fn wait_folded(s: &SqliteStore) {
    for _ in 0..500 {
        if s.atol_unfolded() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the idle writer did not fold the log");
}

fn uuids_of(rows: Vec<AtolDocumentRow>) -> Vec<String> {
    rows.into_iter().map(|d| d.uuid).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atol_log_fold_and_reload_keep_every_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kassa.db");
    let s = SqliteStore::open(&path).expect("open");

    // In the log: found by uuid and external_id, a repeat is a duplicate (ATOL-72), moves apply.
    assert_eq!(insert(&s, doc("a", Some("x"), 1)).await, AtolInsert::Stored);
    assert_eq!(insert(&s, doc("r", None, 2)).await, AtolInsert::Stored);
    assert_eq!(s.atol_unfolded(), 2);
    let dup = AtolInsert::Duplicate { uuid: "a".into(), timestamp: "ts-a".into() };
    assert_eq!(insert(&s, doc("a2", Some("x"), 3)).await, dup);
    assert_eq!(s.atol_external_id("t1", "g1", "x").await.unwrap(), Some(("a".into(), "ts-a".into())));
    assert_eq!(s.atol_document("t1", "g1", "a").await.unwrap().expect("a").state, "queued");
    assert_eq!(s.atol_document("t1", "other", "a").await.unwrap(), None, "another group does not see it");
    // A repeated uuid is refused, in the log as in the folded table.
    assert!(s.atol_insert_documents(&[doc("a", Some("y"), 3)]).await.is_err());
    assert_eq!(s.atol_transition(&[moved("a", "queued", "in_progress", false, 4)]).await.unwrap(), [true]);
    assert_eq!(s.atol_transition(&[moved("a", "queued", "in_progress", false, 4)]).await.unwrap(), [false], "compare-and-set");
    assert_eq!(uuids_of(s.atol_in_progress(10).await.unwrap()), ["a"]);

    // The idle writer folds the log; every answer stays the same.
    wait_folded(&s).await;
    assert_eq!(insert(&s, doc("a3", Some("x"), 5)).await, dup);
    assert_eq!(s.atol_document("t1", "g1", "a").await.unwrap().expect("a").state, "in_progress");
    assert_eq!(s.atol_transition(&[moved("a", "in_progress", "done", true, 6)]).await.unwrap(), [true]);
    assert!(s.atol_insert_documents(&[doc("a", Some("z"), 6)]).await.is_err(), "a folded uuid is refused too");

    // A folded and a logged document share one queue in order; the callback of a logged one.
    assert_eq!(insert(&s, doc("b", Some("b"), 7)).await, AtolInsert::Stored);
    wait_folded(&s).await;
    assert_eq!(insert(&s, doc("c", Some("c"), 8)).await, AtolInsert::Stored);
    assert_eq!(s.atol_unfolded(), 1);
    assert_eq!(uuids_of(s.atol_queue("t1", "g1", 10).await.unwrap()), ["b", "c"]);
    assert_eq!(s.atol_queued_groups(10).await.unwrap(), [("t1".into(), "g1".into(), 2)]);
    assert_eq!(s.atol_queued_groups(1).await.unwrap(), [("t1".into(), "g1".into(), 1)], "capped");
    assert_eq!(uuids_of(s.atol_queued_before(8, 10).await.unwrap()), ["b", "c"]);
    assert_eq!(s.atol_transition(&[moved("c", "queued", "failed", true, 9)]).await.unwrap(), [true]);
    let cbs: Vec<String> = s.atol_callbacks(&AtolFilter { limit: 10, ..Default::default() }).await.unwrap().into_iter().map(|c| c.uuid).collect();
    assert_eq!(cbs, ["c", "a"]);
    // Listings: newest first across the log and the folded table.
    let all = s.atol_documents(&AtolFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(uuids_of(all), ["c", "b", "r", "a"]);
    let two = s.atol_documents(&AtolFilter { limit: 2, ..Default::default() }).await.unwrap();
    assert_eq!(uuids_of(two), ["c", "b"]);

    // After a restart the log's keys are rebuilt from disk.
    assert_eq!(insert(&s, doc("d", Some("d"), 10)).await, AtolInsert::Stored);
    s.close().await;
    let s = SqliteStore::open(&path).expect("reopen");
    assert!(s.atol_unfolded() >= 1);
    assert_eq!(insert(&s, doc("d2", Some("d"), 11)).await, AtolInsert::Duplicate { uuid: "d".into(), timestamp: "ts-d".into() });
    assert_eq!(s.atol_document("t1", "g1", "d").await.unwrap().expect("d").state, "queued");
    assert_eq!(uuids_of(s.atol_queue("t1", "g1", 10).await.unwrap()), ["b", "d"]);
    wait_folded(&s).await;
    assert_eq!(uuids_of(s.atol_queue("t1", "g1", 10).await.unwrap()), ["b", "d"]);
    s.close().await;
}

/// The queued-groups skip scan visits every group of every tenant, in the log and folded alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atol_queued_groups_covers_every_tenant_and_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = SqliteStore::open(&dir.path().join("kassa.db")).expect("open");
    let at = |uuid: &str, tenant: &str, group: &str| NewAtolDocument {
        tenant_id: tenant.into(),
        group_code: group.into(),
        ..doc(uuid, Some(uuid), 1)
    };
    for (u, t, g) in [("1", "t1", "g1"), ("2", "t1", "g2"), ("3", "t1", "g2"), ("4", "t2", "g1")] {
        assert_eq!(insert(&s, at(u, t, g)).await, AtolInsert::Stored);
    }
    wait_folded(&s).await;
    for (u, t, g) in [("5", "t1", "g1"), ("6", "t3", "a")] {
        assert_eq!(insert(&s, at(u, t, g)).await, AtolInsert::Stored);
    }
    let expected: Vec<(String, String, i64)> =
        [("t1", "g1", 2), ("t1", "g2", 2), ("t2", "g1", 1), ("t3", "a", 1)].map(|(t, g, n)| (t.into(), g.into(), n)).into();
    assert_eq!(s.atol_queued_groups(10).await.unwrap(), expected);
    s.close().await;
}
