//! Conformance cases of the AtolStore port.

use crate::Harness;
use kassa_store::Store;
use kassa_store::atol::*;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per atol conformance case.
#[macro_export]
macro_rules! atol_suite {
    ($make:expr) => {
        $crate::atol_suite!(@cases $make; atol_tokens, atol_external_id_is_unique_per_group,
            atol_queue_is_fifo_and_requeue_goes_to_tail, atol_transitions_are_compare_and_set,
            atol_callback_outbox, atol_concurrent_duplicates_have_one_winner);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(h) => $crate::atol::$case(&h).await,
                    None => eprintln!("SKIPPED {}: backend not enabled", stringify!($case)),
                }
            }
        )*
    };
}

fn doc(uuid: &str, group: &str, ext: Option<&str>, now: i64) -> NewAtolDocument {
    NewAtolDocument {
        uuid: uuid.into(),
        tenant_id: "t1".into(),
        group_code: group.into(),
        operation: "sell".into(),
        external_id: ext.map(Into::into),
        state: "queued".into(),
        timestamp: "29.05.2017 17:56:18".into(),
        callback_url: "http://testtest".into(),
        body: "{}".into(),
        error: None,
        now_ms: now,
    }
}

fn to_state(uuid: &str, from: &str, to: &str, now: i64) -> AtolTransition {
    AtolTransition {
        uuid: uuid.into(),
        from_state: from.into(),
        from_attempts: None,
        to_state: to.into(),
        attempts: 0,
        error: None,
        daemon_code: String::new(),
        device_code: String::new(),
        payload: None,
        requeue_at_ms: None,
        callback: None,
        now_ms: now,
    }
}

pub async fn atol_tokens(h: &dyn Harness) {
    let s = h.open().await;
    assert_eq!(s.atol_current_token("t1", "netletest").await.unwrap(), None);
    let a = AtolTokenRow { token: "a".repeat(32), tenant_id: "t1".into(), login: "netletest".into(), issued_at_ms: 10 };
    s.atol_issue_token(&a).await.unwrap();
    assert_eq!(s.atol_current_token("t1", "netletest").await.unwrap(), Some(a.clone()));
    let b = AtolTokenRow { token: "b".repeat(32), issued_at_ms: 20, ..a.clone() };
    s.atol_issue_token(&b).await.unwrap();
    // ATOL-41: the old token stays, the new one is current.
    assert_eq!(s.atol_current_token("t1", "netletest").await.unwrap(), Some(b.clone()));
    assert_eq!(s.atol_token(&a.token).await.unwrap(), Some(a));
    assert_eq!(s.atol_token("nope").await.unwrap(), None);
    s.close().await;
    let s = h.open().await;
    assert_eq!(s.atol_token(&b.token).await.unwrap(), Some(b));
    s.close().await;
}

pub async fn atol_external_id_is_unique_per_group(h: &dyn Harness) {
    let s = h.open().await;
    let r = s
        .atol_insert_documents(&[
            doc("u1", "g1", Some("e1"), 100),
            doc("u2", "g1", Some("e1"), 101),
            doc("u3", "g2", Some("e1"), 102),
        ])
        .await
        .unwrap();
    assert_eq!(r[0], AtolInsert::Stored);
    assert_eq!(r[1], AtolInsert::Duplicate { uuid: "u1".into(), timestamp: "29.05.2017 17:56:18".into() });
    assert_eq!(r[2], AtolInsert::Stored, "another group may use the same external_id");
    assert_eq!(s.atol_external_id("t1", "g1", "e1").await.unwrap(), Some(("u1".into(), "29.05.2017 17:56:18".into())));
    assert_eq!(s.atol_external_id("t1", "g1", "E1").await.unwrap(), None, "exact, case-sensitive (ATOL-71)");
    // Rejected records hold no external_id (ATOL-50, ATOL-73).
    let mut rej = doc("u4", "g1", None, 103);
    rej.state = "rejected".into();
    rej.error = Some(AtolErrorRow { code: 8, text: "x".into(), kind: "system".into() });
    let mut rej2 = rej.clone();
    rej2.uuid = "u5".into();
    assert_eq!(s.atol_insert_documents(&[rej, rej2]).await.unwrap(), vec![AtolInsert::Stored, AtolInsert::Stored]);
    let d = s.atol_document("t1", "g1", "u4").await.unwrap().unwrap();
    assert_eq!((d.state.as_str(), d.error.unwrap().code), ("rejected", 8));
    assert_eq!(s.atol_document("t1", "g2", "u1").await.unwrap(), None, "a uuid is found only in its group");
    let all = s.atol_documents(&AtolFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 4);
    let g1 = s
        .atol_documents(&AtolFilter { group_code: Some("g1".into()), state: Some("queued".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(g1.iter().map(|d| d.uuid.as_str()).collect::<Vec<_>>(), ["u1"]);
    s.close().await;
    let s = h.open().await;
    assert!(s.atol_document("t1", "g1", "u1").await.unwrap().is_some(), "durable across reopen");
    s.close().await;
}

pub async fn atol_queue_is_fifo_and_requeue_goes_to_tail(h: &dyn Harness) {
    let s = h.open().await;
    for i in 0..3 {
        s.atol_insert_documents(&[doc(&format!("q{i}"), "g1", Some(&format!("e{i}")), 100 + i)]).await.unwrap();
    }
    s.atol_insert_documents(&[doc("other", "g2", Some("e0"), 100)]).await.unwrap();
    let ids = |v: Vec<AtolDocumentRow>| v.into_iter().map(|d| d.uuid).collect::<Vec<_>>();
    assert_eq!(ids(s.atol_queue("t1", "g1", 10).await.unwrap()), ["q0", "q1", "q2"]);
    assert_eq!(
        s.atol_queued_groups(100).await.unwrap(),
        vec![("t1".into(), "g1".into(), 3), ("t1".into(), "g2".into(), 1)]
    );
    assert_eq!(
        s.atol_queued_groups(2).await.unwrap(),
        vec![("t1".into(), "g1".into(), 2), ("t1".into(), "g2".into(), 1)]
    );
    // q0 taken, fails with a class-R error, goes back to the tail (ATOL-6, D-2).
    assert_eq!(s.atol_transition(&[to_state("q0", "queued", "in_progress", 200)]).await.unwrap(), [true]);
    assert_eq!(ids(s.atol_in_progress(10).await.unwrap()), ["q0"]);
    let mut back = to_state("q0", "in_progress", "queued", 300);
    back.attempts = 1;
    back.requeue_at_ms = Some(300);
    back.error = Some(AtolErrorRow { code: -20, text: "Нет ответа от устройства".into(), kind: "driver".into() });
    assert_eq!(s.atol_transition(&[back]).await.unwrap(), [true]);
    assert_eq!(ids(s.atol_queue("t1", "g1", 10).await.unwrap()), ["q1", "q2", "q0"]);
    let q0 = s.atol_document("t1", "g1", "q0").await.unwrap().unwrap();
    assert_eq!((q0.attempts, q0.queued_at_ms, q0.error.unwrap().code), (1, 300, -20));
    // Timeout scan by queue start (ATOL-81).
    let early = ids(s.atol_queued_before(101, 10).await.unwrap());
    assert!(early.contains(&"q1".to_owned()) && early.contains(&"other".to_owned()) && !early.contains(&"q0".to_owned()));
    s.close().await;
    // After a restart a new document still goes behind everything queued, and so does a
    // re-queued one (the tail is taken from what is stored, not from memory alone).
    let s = h.open().await;
    s.atol_insert_documents(&[doc("q3", "g1", Some("e3"), 400)]).await.unwrap();
    assert_eq!(s.atol_transition(&[to_state("q1", "queued", "in_progress", 410)]).await.unwrap(), [true]);
    let mut back = to_state("q1", "in_progress", "queued", 420);
    back.requeue_at_ms = Some(420);
    assert_eq!(s.atol_transition(&[back]).await.unwrap(), [true]);
    assert_eq!(ids(s.atol_queue("t1", "g1", 10).await.unwrap()), ["q2", "q0", "q3", "q1"]);
    s.close().await;
}

pub async fn atol_transitions_are_compare_and_set(h: &dyn Harness) {
    let s = h.open().await;
    s.atol_insert_documents(&[doc("u1", "g1", Some("e1"), 100)]).await.unwrap();
    let mut done = to_state("u1", "queued", "done", 200);
    done.payload = Some("{\"total\":7612}".into());
    done.device_code = "KSR13.00-1-11".into();
    done.callback = Some(NewAtolCallback { url: "http://testtest".into(), body: "{\"status\":\"done\"}".into(), next_at_ms: 200 });
    let again = done.clone();
    assert_eq!(s.atol_transition(&[done, again]).await.unwrap(), [true, false], "only one applies");
    let d = s.atol_document("t1", "g1", "u1").await.unwrap().unwrap();
    assert_eq!((d.state.as_str(), d.device_code.as_str(), d.payload.as_deref()), ("done", "KSR13.00-1-11", Some("{\"total\":7612}")));
    // ATOL-85: final documents never change.
    assert_eq!(s.atol_transition(&[to_state("u1", "queued", "failed", 300)]).await.unwrap(), [false]);
    let cbs = s.atol_callbacks(&AtolFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(cbs.len(), 1, "exactly one callback row");
    // Attempt guard on a transition.
    s.atol_insert_documents(&[doc("u2", "g1", Some("e2"), 100)]).await.unwrap();
    let mut t = to_state("u2", "queued", "in_progress", 200);
    t.from_attempts = Some(5);
    assert_eq!(s.atol_transition(&[t]).await.unwrap(), [false]);
    s.close().await;
}

pub async fn atol_callback_outbox(h: &dyn Harness) {
    let s = h.open().await;
    s.atol_insert_documents(&[doc("u1", "g1", Some("e1"), 100)]).await.unwrap();
    let mut fail = to_state("u1", "queued", "failed", 200);
    fail.callback = Some(NewAtolCallback { url: "http://x/cb".into(), body: "{}".into(), next_at_ms: 200 });
    s.atol_transition(&[fail]).await.unwrap();
    assert!(s.atol_due_callbacks(199, 10).await.unwrap().is_empty());
    let due = s.atol_due_callbacks(200, 10).await.unwrap();
    assert_eq!((due.len(), due[0].url.as_str(), due[0].group_code.as_str()), (1, "http://x/cb", "g1"));
    let attempt = AtolCallbackAttempt {
        uuid: "u1".into(),
        from_attempts: 0,
        state: "pending".into(),
        next_at_ms: 30_200,
        last_status: Some(500),
        last_error: None,
        now_ms: 201,
    };
    assert!(s.atol_callback_attempt(&attempt).await.unwrap());
    assert!(!s.atol_callback_attempt(&attempt).await.unwrap(), "a stale attempt count is refused");
    assert!(s.atol_due_callbacks(30_199, 10).await.unwrap().is_empty());
    let last = AtolCallbackAttempt { from_attempts: 1, state: "delivered".into(), last_status: Some(200), ..attempt };
    assert!(s.atol_callback_attempt(&last).await.unwrap());
    assert!(s.atol_due_callbacks(i64::MAX, 10).await.unwrap().is_empty());
    s.close().await;
    let s = h.open().await;
    let cbs = s.atol_callbacks(&AtolFilter { state: Some("delivered".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((cbs.len(), cbs[0].attempts, cbs[0].last_status), (1, 2, Some(200)));
    s.close().await;
}

pub async fn atol_concurrent_duplicates_have_one_winner(h: &dyn Harness) {
    // ATOL-51
    let s: Arc<dyn Store> = h.open().await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.atol_insert_documents(&[doc(&format!("c{i}"), "g1", Some("same"), 100)]).await })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        if t.await.unwrap().unwrap()[0] == AtolInsert::Stored {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    s.close().await;
}
