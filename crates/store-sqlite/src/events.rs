//! Frontol event collector tables (EventStore). A batch is one job of the group-commit writer
//! with cached prepared statements, so a request costs one savepoint inside a shared COMMIT.

use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use kassa_store::StoreResult;
use kassa_store::events::{EventBatch, EventQuery, EventSource, EventStore, StoredEvent};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::sync::Arc;

const COLUMNS: &str = "id, tenant_id, batch_code, organization, business_unit, work_place, group_id, event, \
                       event_group, occurred_at, received_at, position, raw, fields, warnings, flags";

fn row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        batch_code: r.get(2)?,
        organization: r.get(3)?,
        business_unit: r.get(4)?,
        work_place: r.get(5)?,
        group_id: r.get(6)?,
        event: r.get(7)?,
        event_group: r.get(8)?,
        occurred_ms: r.get(9)?,
        received_ms: r.get(10)?,
        position: r.get(11)?,
        raw: r.get(12)?,
        fields: r.get(13)?,
        warnings: r.get(14)?,
        flags: r.get(15)?,
    })
}

fn insert_batch(c: &Connection, b: &EventBatch) -> StoreResult<Vec<Option<i64>>> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO events (dedup_key, tenant_id, batch_code, received_at, position, organization, business_unit,
                 work_place, group_id, event, event_group, occurred_at, raw, fields, warnings, flags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .map_err(db_err)?;
    let mut ids = Vec::with_capacity(b.events.len());
    for e in &b.events {
        let n = st
            .execute(params![
                e.dedup_key,
                b.tenant_id,
                b.code,
                b.received_ms,
                e.position,
                b.organization,
                b.business_unit,
                b.work_place,
                e.group_id,
                e.event,
                e.event_group,
                e.occurred_ms,
                e.raw,
                e.fields,
                e.warnings,
                e.flags
            ])
            .map_err(db_err)?;
        ids.push((n == 1).then(|| c.last_insert_rowid()));
    }
    Ok(ids)
}

fn query(c: &Connection, q: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
    let mut sql = format!("SELECT {COLUMNS} FROM events WHERE 1 = 1");
    let mut args: Vec<Sql> = Vec::new();
    let mut eq = |col: &str, v: &Option<String>, sql: &mut String| {
        if let Some(v) = v {
            args.push(Sql::Text(v.clone()));
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        }
    };
    eq("tenant_id", &q.tenant_id, &mut sql);
    eq("organization", &q.organization, &mut sql);
    eq("business_unit", &q.business_unit, &mut sql);
    eq("work_place", &q.work_place, &mut sql);
    eq("event", &q.event, &mut sql);
    eq("group_id", &q.group_id, &mut sql);
    if let Some(f) = q.from_ms {
        args.push(Sql::Integer(f));
        sql.push_str(&format!(" AND occurred_at >= ?{}", args.len()));
    }
    if let Some(t) = q.to_ms {
        args.push(Sql::Integer(t));
        sql.push_str(&format!(" AND occurred_at < ?{}", args.len()));
    }
    if q.flagged {
        sql.push_str(" AND flags <> '[]'");
    }
    if let Some((t, id)) = q.after {
        args.push(Sql::Integer(t));
        args.push(Sql::Integer(id));
        sql.push_str(&format!(" AND (occurred_at, id) > (?{}, ?{})", args.len() - 1, args.len()));
    }
    args.push(Sql::Integer(i64::from(q.limit)));
    sql.push_str(&format!(" ORDER BY occurred_at, id LIMIT ?{}", args.len()));
    let mut st = c.prepare_cached(&sql).map_err(db_err)?;
    st.query_map(rusqlite::params_from_iter(args), row).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
}

fn group_events(c: &Connection, env: [&str; 3], group_ids: &[String], since_ms: i64) -> StoreResult<Vec<StoredEvent>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM events WHERE group_id = ?1 AND work_place = ?2 AND business_unit = ?3
             AND organization = ?4 AND occurred_at >= ?5 ORDER BY occurred_at, id"
        ))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for g in group_ids {
        let rows = st.query_map(params![g, env[2], env[1], env[0], since_ms], row).map_err(db_err)?;
        for r in rows {
            out.push(r.map_err(db_err)?);
        }
    }
    Ok(out)
}

fn disabled(c: &Connection, tenant: &str) -> StoreResult<Vec<String>> {
    let mut st = c.prepare_cached("SELECT rule FROM event_rules_disabled WHERE tenant_id = ?1 ORDER BY rule").map_err(db_err)?;
    st.query_map([tenant], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn store_event_batch(&self, batch: Arc<EventBatch>) -> StoreResult<Vec<Option<i64>>> {
        self.write(move |c| insert_batch(c, &batch)).await
    }

    async fn events(&self, q: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        let q = q.clone();
        self.read(move |c| query(c, &q)).await
    }

    async fn group_events(
        &self,
        organization: &str,
        business_unit: &str,
        work_place: &str,
        group_ids: &[String],
        since_ms: i64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let env = [organization.to_owned(), business_unit.to_owned(), work_place.to_owned()];
        let group_ids = group_ids.to_vec();
        self.read(move |c| group_events(c, [&env[0], &env[1], &env[2]], &group_ids, since_ms)).await
    }

    async fn event_source(&self, organization: &str) -> StoreResult<Option<EventSource>> {
        let org = organization.to_owned();
        self.read(move |c| {
            let tenant: Option<String> = c
                .prepare_cached("SELECT tenant_id FROM event_sources WHERE organization = ?1 AND active = 1")
                .map_err(db_err)?
                .query_row([&org], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            match tenant {
                None => Ok(None),
                Some(t) => Ok(Some(EventSource { disabled_rules: disabled(c, &t)?, tenant_id: t })),
            }
        })
        .await
    }

    async fn disabled_event_rules(&self, tenant_id: &str) -> StoreResult<Vec<String>> {
        let t = tenant_id.to_owned();
        self.read(move |c| disabled(c, &t)).await
    }

    async fn set_disabled_event_rules(&self, tenant_id: &str, rules: &[String], now_ms: i64) -> StoreResult<()> {
        let (t, rules) = (tenant_id.to_owned(), rules.to_vec());
        self.write(move |c| {
            c.execute("DELETE FROM event_rules_disabled WHERE tenant_id = ?1", [&t]).map_err(db_err)?;
            for r in &rules {
                c.execute("INSERT INTO event_rules_disabled (tenant_id, rule, updated_at) VALUES (?1, ?2, ?3)", params![t, r, now_ms])
                    .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }
}
