//! Event ingest and queries of the Frontol event collector (`frontol-events.md`).
//!
//! [`Events::ingest`] takes a parsed request (the face parses with
//! `kassa_domain::events::parse_batch`), resolves the tenant from the organization (the tenants'
//! `events.organizations`), collapses duplicates inside the request, runs the tenant's
//! loss-prevention rules against the document context already stored, and stores the whole
//! request in ONE store write (EVT-38): when it returns `Ok`, every event is durable.
//!
//! May depend on the domain and the store port only.

use crate::Core;
use kassa_domain::events::rules::{self, DocEvent, Rule};
use kassa_domain::events::{Batch, Event};
use kassa_store::StoreError;
use kassa_store::events::{EventBatch, EventQuery, NewEvent, StoredEvent};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// How far back the document context of a rule reaches: `groupId` values are 4 bytes and get
/// reused after a while (EVT-14), so only recent events of a group count as the same document.
pub const DOCUMENT_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// Events the rules look at; a request without them needs no context read.
const RULE_TRIGGERS: [&str; 3] = ["REG_POSITION_CANCEL", "SYS_OPEN_MONEY_BOX", "REG_DOCUMENT_CANCEL"];

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no tenant '{0}'")]
    NoTenant(String),
    #[error("unknown loss-prevention rule '{0}'")]
    UnknownRule(String),
}

/// What one request did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    /// The tenant the organization belongs to, `""` when none declares it.
    pub tenant_id: String,
    /// Events skipped as already stored or repeated in the request (EVT-39).
    pub duplicates: usize,
    batch: Arc<EventBatch>,
    ids: Vec<Option<i64>>,
}

impl Ingested {
    /// How many events were new.
    pub fn stored_count(&self) -> usize {
        self.ids.iter().filter(|i| i.is_some()).count()
    }

    /// The newly stored events in request order (built on demand: for the live stream).
    pub fn stored(&self) -> impl Iterator<Item = StoredEvent> + '_ {
        let b = &self.batch;
        b.events.iter().zip(&self.ids).filter_map(move |(e, id)| {
            Some(StoredEvent {
                id: (*id)?,
                tenant_id: b.tenant_id.clone(),
                batch_code: b.code.clone(),
                organization: b.organization.clone(),
                business_unit: b.business_unit.clone(),
                work_place: b.work_place.clone(),
                group_id: e.group_id.clone(),
                event: e.event.clone(),
                event_group: e.event_group.clone(),
                occurred_ms: e.occurred_ms,
                received_ms: b.received_ms,
                position: e.position,
                raw: e.raw.clone(),
                fields: e.fields.clone(),
                warnings: e.warnings.clone(),
                flags: e.flags.clone(),
            })
        })
    }
}

/// A rule and whether it runs for a tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSetting {
    pub rule: Rule,
    pub enabled: bool,
}

pub struct Events<'a> {
    pub(crate) core: &'a Core,
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Events<'_> {
    /// Stores one request's events atomically (EVT-38) and returns what was new.
    pub async fn ingest(&self, code: &str, batch: Batch) -> Result<Ingested, StoreError> {
        let now = self.core.clock.now_ms();
        let env = batch.envelope;
        let mut common = batch.warnings;
        let source = self.core.store.event_source(&env.organization).await?;
        let (tenant_id, disabled) = match source {
            Some(s) => (s.tenant_id, s.disabled_rules),
            None => {
                common.push(format!("organization '{}' is not declared by any tenant", env.organization));
                (String::new(), Vec::new())
            }
        };
        let enabled: Vec<Rule> = Rule::ALL.into_iter().filter(|r| !disabled.iter().any(|d| d == r.id())).collect();

        // EVT-39: one row per key; the first occurrence in the request wins.
        let total = batch.events.len();
        let mut seen = HashSet::with_capacity(total);
        let events: Vec<(usize, String, Event)> = batch
            .events
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let key = e.dedup_key(&env);
                seen.insert(key.clone()).then_some((i, key, e))
            })
            .collect();
        let occurred = |e: &Event| e.occurred_ms.unwrap_or(now);

        let flags = if enabled.is_empty() || !events.iter().any(|(_, _, e)| RULE_TRIGGERS.contains(&e.name.as_str())) {
            vec![Vec::new(); events.len()]
        } else {
            let groups: Vec<String> =
                events.iter().map(|(_, _, e)| e.group_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
            let since = events.iter().map(|(_, _, e)| occurred(e)).min().unwrap_or(now) - DOCUMENT_WINDOW_MS;
            let context = self
                .core
                .store
                .group_events(&env.organization, &env.business_unit, &env.work_place, &groups, since)
                .await?;
            let mut earlier: HashMap<&str, Vec<DocEvent<'_>>> = HashMap::new();
            for c in &context {
                earlier.entry(c.group_id.as_str()).or_default().push(DocEvent { name: &c.event, kind: "", occurred_ms: c.occurred_ms });
            }
            let mut flags = vec![Vec::new(); events.len()];
            let mut by_group: HashMap<&str, Vec<usize>> = HashMap::new();
            for (n, (_, _, e)) in events.iter().enumerate() {
                by_group.entry(e.group_id.as_str()).or_default().push(n);
            }
            for (group, members) in by_group {
                let new: Vec<DocEvent<'_>> = members
                    .iter()
                    .map(|&n| {
                        let e = &events[n].2;
                        DocEvent { name: &e.name, kind: e.str_field("type"), occurred_ms: occurred(e) }
                    })
                    .collect();
                let got = rules::evaluate(&enabled, earlier.get(group).map(Vec::as_slice).unwrap_or_default(), &new);
                for (&n, f) in members.iter().zip(got) {
                    flags[n] = f;
                }
            }
            flags
        };

        let rows: Vec<NewEvent> = events
            .into_iter()
            .zip(flags)
            .map(|((i, key, e), f)| {
                let occurred_ms = occurred(&e);
                // Most events have no warning and no flag: skip the serialiser for them.
                let warnings = if common.is_empty() && e.warnings.is_empty() {
                    "[]".to_owned()
                } else {
                    json(&common.iter().chain(&e.warnings).collect::<Vec<_>>())
                };
                let flags = if f.is_empty() { "[]".to_owned() } else { json(&f.iter().map(|r| r.id()).collect::<Vec<_>>()) };
                NewEvent {
                    dedup_key: key,
                    position: i32::try_from(i).unwrap_or(i32::MAX),
                    event_group: e.group.as_str().to_owned(),
                    fields: json(&e.fields),
                    group_id: e.group_id,
                    event: e.name,
                    occurred_ms,
                    raw: e.raw,
                    warnings,
                    flags,
                }
            })
            .collect();
        let b = Arc::new(EventBatch {
            code: code.to_owned(),
            tenant_id: tenant_id.clone(),
            organization: env.organization,
            business_unit: env.business_unit,
            work_place: env.work_place,
            received_ms: now,
            events: rows,
        });
        let ids = self.core.store.store_event_batch(b.clone()).await?;
        if total > kassa_domain::events::POS_BATCH_LIMIT {
            // EVT-41: accepted, but the POS broke its obligation.
            tracing::warn!(events = total, organization = %b.organization, work_place = %b.work_place,
                "POS protocol violation: more than 500 events in one request");
        }
        let new = ids.iter().filter(|i| i.is_some()).count();
        Ok(Ingested { duplicates: total - new, tenant_id, batch: b, ids })
    }

    /// Events matching `q`, by occurrence then arrival (EVT-40).
    pub async fn list(&self, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.core.store.events(q).await
    }

    /// Every rule with its state for `tenant`.
    pub async fn rules(&self, tenant: &str) -> Result<Vec<RuleSetting>, EventsError> {
        self.core.store.tenant(tenant).await?.ok_or_else(|| EventsError::NoTenant(tenant.to_owned()))?;
        let disabled = self.core.store.disabled_event_rules(tenant).await?;
        Ok(Rule::ALL.into_iter().map(|rule| RuleSetting { rule, enabled: !disabled.iter().any(|d| d == rule.id()) }).collect())
    }

    /// Switches rules on or off for `tenant`; rules not named keep their state.
    pub async fn set_rules(&self, tenant: &str, changes: &[(String, bool)]) -> Result<Vec<RuleSetting>, EventsError> {
        let current = self.rules(tenant).await?;
        let mut enabled: HashMap<Rule, bool> = current.iter().map(|s| (s.rule, s.enabled)).collect();
        for (id, on) in changes {
            let rule = Rule::parse(id).ok_or_else(|| EventsError::UnknownRule(id.clone()))?;
            enabled.insert(rule, *on);
        }
        let disabled: Vec<String> =
            Rule::ALL.into_iter().filter(|r| !enabled.get(r).copied().unwrap_or(true)).map(|r| r.id().to_owned()).collect();
        self.core.store.set_disabled_event_rules(tenant, &disabled, self.core.clock.now_ms()).await?;
        self.rules(tenant).await
    }
}
