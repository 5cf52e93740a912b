//! Conformance cases of the EventStore port (frontol-events.md): atomic batches, deduplication,
//! ordering, filters and pagination, document context, tenant resolution and rule settings.

use crate::{Harness, full_tenant};
use kassa_store::events::{EventBatch, EventQuery, NewEvent};

/// Generates one `#[tokio::test]` per events conformance case.
#[macro_export]
macro_rules! events_suite {
    ($make:expr) => {
        $crate::events_suite!(@cases $make;
            events_batch_dedup_and_order, events_filters_and_pagination, events_group_context,
            events_source_and_rules, events_concurrent_batches_store_each_event_once);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(h) => $crate::events::$case(&h).await,
                    None => eprintln!("SKIPPED {}: backend not enabled", stringify!($case)),
                }
            }
        )*
    };
}

fn ev(key: &str, group: &str, name: &str, t: i64, pos: i32) -> NewEvent {
    NewEvent {
        dedup_key: key.into(),
        position: pos,
        group_id: group.into(),
        event: name.into(),
        event_group: "registration".into(),
        occurred_ms: t,
        raw: format!(r#"{{"event":"{name}"}}"#),
        fields: format!(r#"{{"event":"{name}"}}"#),
        warnings: "[]".into(),
        flags: if name == "REG_POSITION_CANCEL" { r#"["position_cancel_after_payment"]"#.into() } else { "[]".into() },
    }
}

fn batch(code: &str, wp: &str, events: Vec<NewEvent>) -> std::sync::Arc<EventBatch> {
    std::sync::Arc::new(EventBatch {
        code: code.into(),
        tenant_id: "t1".into(),
        organization: "Org t1".into(),
        business_unit: "Shop".into(),
        work_place: wp.into(),
        received_ms: 5_000,
        events,
    })
}

fn all() -> EventQuery {
    EventQuery { limit: 1000, ..Default::default() }
}

/// EVT-38, EVT-39, EVT-40: a batch is stored with ids in request order; a replay stores nothing;
/// events are listed by occurrence time, then arrival.
pub async fn events_batch_dedup_and_order(h: &dyn Harness) {
    let s = h.open().await;
    let ids = s
        .store_event_batch(batch("c1", "POS 1", vec![ev("k1", "g1", "REG_DOCUMENT_OPEN", 200, 0), ev("k2", "g1", "REG_POSITION_REGISTRATION", 300, 1)]))
        .await
        .unwrap();
    assert!(ids.iter().all(Option::is_some));
    assert!(ids[0] < ids[1]);
    let again = s
        .store_event_batch(batch("c2", "POS 1", vec![ev("k1", "g1", "REG_DOCUMENT_OPEN", 200, 0), ev("k3", "g1", "ACT_ACTIVITY", 100, 1)]))
        .await
        .unwrap();
    assert_eq!(again[0], None, "duplicate skipped");
    assert!(again[1].is_some());
    let got = s.events(&all()).await.unwrap();
    let keys: Vec<(&str, i64)> = got.iter().map(|e| (e.event.as_str(), e.occurred_ms)).collect();
    assert_eq!(keys, [("ACT_ACTIVITY", 100), ("REG_DOCUMENT_OPEN", 200), ("REG_POSITION_REGISTRATION", 300)]);
    assert_eq!(got[1].batch_code, "c1");
    assert_eq!(got[0].batch_code, "c2");
    assert_eq!(got[1].organization, "Org t1");
    assert_eq!(got[1].raw, r#"{"event":"REG_DOCUMENT_OPEN"}"#);
    assert_eq!(s.store_event_batch(batch("c3", "POS 1", vec![])).await.unwrap(), Vec::<Option<i64>>::new());
    s.close().await;
    // Durable: the rows are there after reopening.
    let s = h.open().await;
    assert_eq!(s.events(&all()).await.unwrap().len(), 3);
    s.close().await;
}

pub async fn events_filters_and_pagination(h: &dyn Harness) {
    let s = h.open().await;
    let mut events = Vec::new();
    for i in 0..25 {
        let name = if i % 5 == 0 { "REG_POSITION_CANCEL" } else { "ACT_ACTIVITY" };
        events.push(ev(&format!("k{i}"), &format!("g{}", i % 3), name, 1_000 + i64::from(i / 2), i));
    }
    s.store_event_batch(batch("c1", "POS 1", events)).await.unwrap();
    s.store_event_batch(batch("c2", "POS 2", vec![ev("x", "g0", "ACT_ACTIVITY", 1_000, 0)])).await.unwrap();
    let q = |f: fn(&mut EventQuery)| {
        let mut q = all();
        f(&mut q);
        q
    };
    assert_eq!(s.events(&q(|q| q.work_place = Some("POS 2".into()))).await.unwrap().len(), 1);
    assert_eq!(s.events(&q(|q| q.event = Some("REG_POSITION_CANCEL".into()))).await.unwrap().len(), 5);
    assert_eq!(s.events(&q(|q| q.flagged = true)).await.unwrap().len(), 5);
    assert_eq!(s.events(&q(|q| q.group_id = Some("g0".into()))).await.unwrap().len(), 10);
    assert_eq!(s.events(&q(|q| { q.from_ms = Some(1_002); q.to_ms = Some(1_004) })).await.unwrap().len(), 4);
    assert_eq!(s.events(&q(|q| q.tenant_id = Some("other".into()))).await.unwrap().len(), 0);
    assert_eq!(s.events(&q(|q| { q.organization = Some("Org t1".into()); q.business_unit = Some("Shop".into()) })).await.unwrap().len(), 26);
    // Keyset pages see every event once, in order.
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = s.events(&EventQuery { limit: 7, after, ..Default::default() }).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|e| (e.occurred_ms, e.id));
        seen.extend(page.into_iter().map(|e| (e.occurred_ms, e.id)));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 26);
    s.close().await;
}

/// EVT-14: the document context is the same envelope and groupId, recent enough.
pub async fn events_group_context(h: &dyn Harness) {
    let s = h.open().await;
    s.store_event_batch(batch("c1", "POS 1", vec![ev("a", "g1", "REG_PAYMENT_MODE", 100, 0), ev("b", "g2", "ACT_ACTIVITY", 100, 1)]))
        .await
        .unwrap();
    s.store_event_batch(batch("c2", "POS 9", vec![ev("c", "g1", "REG_PAYMENT_MODE", 100, 0)])).await.unwrap();
    s.store_event_batch(batch("c3", "POS 1", vec![ev("d", "g1", "REG_DOCUMENT_OPEN", 10, 0)])).await.unwrap();
    let ctx = s.group_events("Org t1", "Shop", "POS 1", &["g1".into(), "g3".into()], 50).await.unwrap();
    assert_eq!(ctx.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), ["REG_PAYMENT_MODE"]);
    let ctx = s.group_events("Org t1", "Shop", "POS 1", &["g1".into(), "g2".into()], 0).await.unwrap();
    assert_eq!(ctx.len(), 3);
    s.close().await;
}

pub async fn events_source_and_rules(h: &dyn Harness) {
    let s = h.open().await;
    assert_eq!(s.event_source("Org t1").await.unwrap(), None);
    s.apply_tenant(&full_tenant("t1"), 1).await.unwrap();
    let src = s.event_source("Org t1").await.unwrap().expect("declared organization");
    assert_eq!(src.tenant_id, "t1");
    assert!(src.disabled_rules.is_empty());
    s.set_disabled_event_rules("t1", &["payment_cancelled".into(), "money_box_without_document".into()], 2).await.unwrap();
    assert_eq!(s.disabled_event_rules("t1").await.unwrap(), ["money_box_without_document", "payment_cancelled"]);
    assert_eq!(s.event_source("Org t1").await.unwrap().unwrap().disabled_rules.len(), 2);
    s.set_disabled_event_rules("t1", &[], 3).await.unwrap();
    assert!(s.disabled_event_rules("t1").await.unwrap().is_empty());
    // Retired organizations no longer resolve.
    let mut t = full_tenant("t1");
    t.events = None;
    s.apply_tenant(&t, 4).await.unwrap();
    assert_eq!(s.event_source("Org t1").await.unwrap(), None);
    s.close().await;
}

/// EVT-39: concurrent batches with overlapping keys store every event exactly once, and each
/// caller learns exactly which of its events were new.
pub async fn events_concurrent_batches_store_each_event_once(h: &dyn Harness) {
    let s = h.open().await;
    // Concurrent batches with overlapping keys: every event stored exactly once.
    let mut tasks = Vec::new();
    for b in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let events = (0..50).map(|i| ev(&format!("k{}", (b * 25) + i), "g", "ACT_ACTIVITY", i64::from(i), i)).collect();
            s.store_event_batch(batch(&format!("c{b}"), "POS 1", events)).await.unwrap()
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.unwrap().iter().filter(|i| i.is_some()).count();
    }
    let stored = s.events(&all()).await.unwrap();
    assert_eq!(inserted, stored.len());
    assert_eq!(stored.len(), 7 * 25 + 50);
    s.close().await;
}
