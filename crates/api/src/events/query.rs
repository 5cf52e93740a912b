//! The query API of the event collector under `/api/events`: listing with the wire names of the
//! envelope and event fields as filters, the timeline of one document, the live stream, and the
//! loss-prevention rule settings.

use crate::ApiState;
use crate::admin::{Admin, AdminError, AdminJson};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use kassa_core::events::{EventsError, RuleSetting};
use kassa_domain::events::timestamp;
use kassa_store::events::{EventQuery, StoredEvent};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
const FILTERS: [&str; 11] =
    ["tenant", "organization", "businessUnit", "workPlace", "event", "groupId", "from", "to", "flagged", "limit", "after"];

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

impl From<EventsError> for AdminError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::Store(s) => s.into(),
            EventsError::NoTenant(t) => AdminError::NotFound(format!("no tenant '{t}'")),
            e @ EventsError::UnknownRule(_) => AdminError::Invalid(e.to_string()),
        }
    }
}

/// A stored event as the API shows it: envelope and event fields by their wire names.
pub fn view(e: &StoredEvent) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    json!({
        "id": e.id,
        "tenant": e.tenant_id,
        "code": e.batch_code,
        "organization": e.organization,
        "businessUnit": e.business_unit,
        "workPlace": e.work_place,
        "groupId": e.group_id,
        "event": e.event,
        "group": e.event_group,
        "dateTime": timestamp::format_ms(e.occurred_ms, 0),
        "receivedAt": timestamp::format_ms(e.received_ms, 0),
        "position": e.position,
        "fields": parse(&e.fields),
        "raw": parse(&e.raw),
        "warnings": parse(&e.warnings),
        "flags": parse(&e.flags),
    })
}

fn instant(name: &str, v: &str) -> Result<i64, AdminError> {
    v.trim().parse::<i64>().ok().or_else(|| timestamp::parse_ms(v)).ok_or_else(|| {
        AdminError::Invalid(format!("'{name}' must be an ISO 8601 date-time with an offset or Unix milliseconds, not '{v}'"))
    })
}

/// Reads the filters; unknown parameters are refused so a misspelt filter is not silently ignored.
fn filters(params: Params, allowed: &[&str]) -> Result<EventQuery, AdminError> {
    let Query(p) = params.map_err(|r| AdminError::Invalid(r.body_text()))?;
    if let Some(k) = p.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(AdminError::Invalid(format!("unknown query parameter '{k}'; known: {}", allowed.join(", "))));
    }
    let text = |k: &str| p.get(k).map(|v| v.trim().to_owned());
    let limit = match p.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v.parse::<u32>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
            AdminError::Invalid(format!("'limit' must be 1–{MAX_LIMIT}"))
        })?,
    };
    let after = match p.get("after") {
        None => None,
        Some(v) => Some(
            v.split_once('.')
                .and_then(|(t, id)| Some((t.parse().ok()?, id.parse().ok()?)))
                .ok_or_else(|| AdminError::Invalid("'after' must be the 'next' cursor of a previous page".into()))?,
        ),
    };
    let flagged = match p.get("flagged").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(AdminError::Invalid("'flagged' must be true or false".into())),
    };
    Ok(EventQuery {
        tenant_id: text("tenant"),
        organization: text("organization"),
        business_unit: text("businessUnit"),
        work_place: text("workPlace"),
        event: text("event"),
        group_id: text("groupId"),
        from_ms: p.get("from").map(|v| instant("from", v)).transpose()?,
        to_ms: p.get("to").map(|v| instant("to", v)).transpose()?,
        flagged,
        after,
        limit,
    })
}

/// `GET /api/events`: one page, by occurrence then arrival (EVT-40), and the cursor of the next.
pub async fn list(_: Admin, State(s): State<ApiState>, params: Params) -> Result<Json<Value>, AdminError> {
    let q = filters(params, &FILTERS)?;
    let page = s.core.events().list(&q).await?;
    let next = (page.len() == q.limit as usize).then(|| page.last().map(|e| format!("{}.{}", e.occurred_ms, e.id))).flatten();
    Ok(Json(json!({"events": page.iter().map(view).collect::<Vec<_>>(), "next": next})))
}

/// `GET /api/events/groups/{groupId}`: the timeline of one document (EVT-14), narrowed by the
/// envelope filters when a `groupId` value is used by several workplaces.
pub async fn timeline(_: Admin, State(s): State<ApiState>, Path(id): Path<String>, params: Params) -> Result<Json<Value>, AdminError> {
    let mut q = filters(params, &["tenant", "organization", "businessUnit", "workPlace", "from", "to"])?;
    q.group_id = Some(id.trim().to_owned());
    q.limit = MAX_LIMIT;
    let events = s.core.events().list(&q).await?;
    // EVT-20: close, cancel and defer carry no type; the document's is the one its opening
    // event declared, whenever that event arrived.
    let document_type = events
        .iter()
        .find(|e| matches!(e.event.as_str(), "REG_DOCUMENT_OPEN" | "REG_DOCUMENT_OPEN_DEFER_RESTORE"))
        .and_then(|e| serde_json::from_str::<Value>(&e.fields).ok())
        .and_then(|f| f.get("type").cloned());
    Ok(Json(json!({"groupId": id, "documentType": document_type, "events": events.iter().map(view).collect::<Vec<_>>()})))
}

fn matches(q: &EventQuery, e: &StoredEvent) -> bool {
    let eq = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|f| f == v);
    eq(&q.tenant_id, &e.tenant_id)
        && eq(&q.organization, &e.organization)
        && eq(&q.business_unit, &e.business_unit)
        && eq(&q.work_place, &e.work_place)
        && eq(&q.event, &e.event)
        && eq(&q.group_id, &e.group_id)
        && q.from_ms.is_none_or(|f| e.occurred_ms >= f)
        && q.to_ms.is_none_or(|t| e.occurred_ms < t)
        && (!q.flagged || e.flags != "[]")
}

/// `GET /api/events/stream`: Server-Sent Events of newly stored events matching the filters
/// (SSE event `event`, or `flagged` when a loss-prevention rule fired), e.g. for video overlays.
pub async fn stream(
    _: Admin,
    State(s): State<ApiState>,
    params: Params,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AdminError> {
    let q = filters(params, &FILTERS[..9])?;
    let rx = s.events.subscribe();
    let stream = futures_util::stream::unfold((rx, q), |(mut rx, q)| async move {
        loop {
            match rx.recv().await {
                Ok(e) if matches(&q, &e) => {
                    let kind = if e.flags == "[]" { "event" } else { "flagged" };
                    let sse = SseEvent::default().event(kind).id(e.id.to_string()).data(view(&e).to_string());
                    return Some((Ok(sse), (rx, q)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => {
                    let sse = SseEvent::default().event("lagged").data(json!({"skipped": n}).to_string());
                    return Some((Ok(sse), (rx, q)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn rules_view(tenant: &str, rules: &[RuleSetting]) -> Value {
    let rules: Vec<Value> = rules
        .iter()
        .map(|r| json!({"rule": r.rule.id(), "enabled": r.enabled, "description": r.rule.description()}))
        .collect();
    json!({"tenant": tenant, "rules": rules})
}

/// `GET /api/events/rules/{id}`: the tenant's loss-prevention rules and whether each runs.
pub async fn get_rules(_: Admin, State(s): State<ApiState>, Path(id): Path<String>) -> Result<Json<Value>, AdminError> {
    Ok(Json(rules_view(&id, &s.core.events().rules(&id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Rule id → enabled; rules not named keep their state.
    #[serde(default)]
    rules: BTreeMap<String, bool>,
}

/// `PUT /api/events/rules/{id}`: switches rules on or off.
pub async fn put_rules(
    _: Admin,
    State(s): State<ApiState>,
    Path(id): Path<String>,
    AdminJson(body): AdminJson<RulesBody>,
) -> Result<Json<Value>, AdminError> {
    let changes: Vec<(String, bool)> = body.rules.into_iter().collect();
    Ok(Json(rules_view(&id, &s.core.events().set_rules(&id, &changes).await?)))
}
