//! Frontol event collector tables (EventStore). A batch is one statement (`UNNEST` of column
//! arrays, `ON CONFLICT DO NOTHING`) in one transaction: all or nothing, one round trip.

use crate::{PgStore, db_err};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use kassa_store::events::{EventBatch, EventQuery, EventSource, EventStore, StoredEvent};
use kassa_store::{StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

const COLUMNS: &str = "id, tenant_id, batch_code, organization, business_unit, work_place, group_id, event, \
                       event_group, occurred_at, received_at, position, raw, fields, warnings, flags";

fn row(r: &Row) -> StoreResult<StoredEvent> {
    let get = |i: usize| r.try_get::<_, String>(i).map_err(|e| StoreError::Corrupt(format!("events column {i}: {e}")));
    let int = |i: usize| r.try_get::<_, i64>(i).map_err(|e| StoreError::Corrupt(format!("events column {i}: {e}")));
    Ok(StoredEvent {
        id: int(0)?,
        tenant_id: get(1)?,
        batch_code: get(2)?,
        organization: get(3)?,
        business_unit: get(4)?,
        work_place: get(5)?,
        group_id: get(6)?,
        event: get(7)?,
        event_group: get(8)?,
        occurred_ms: int(9)?,
        received_ms: int(10)?,
        position: r.try_get::<_, i32>(11).map_err(|e| StoreError::Corrupt(format!("events column 11: {e}")))?,
        raw: get(12)?,
        fields: get(13)?,
        warnings: get(14)?,
        flags: get(15)?,
    })
}

async fn rows(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<StoredEvent>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&st, params).await.map_err(db_err)?.iter().map(row).collect()
}

#[async_trait]
impl EventStore for PgStore {
    async fn store_event_batch(&self, b: Arc<EventBatch>) -> StoreResult<Vec<Option<i64>>> {
        if b.events.is_empty() {
            return Ok(Vec::new());
        }
        let col = |f: fn(&kassa_store::events::NewEvent) -> &String| b.events.iter().map(f).cloned().collect::<Vec<_>>();
        let keys = col(|e| &e.dedup_key);
        let groups = col(|e| &e.group_id);
        let names = col(|e| &e.event);
        let kinds = col(|e| &e.event_group);
        let raws = col(|e| &e.raw);
        let fields = col(|e| &e.fields);
        let warnings = col(|e| &e.warnings);
        let flags = col(|e| &e.flags);
        let positions: Vec<i32> = b.events.iter().map(|e| e.position).collect();
        let times: Vec<i64> = b.events.iter().map(|e| e.occurred_ms).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let st = tx
            .prepare_cached(
                "INSERT INTO events (dedup_key, tenant_id, batch_code, received_at, position, organization, business_unit,
                     work_place, group_id, event, event_group, occurred_at, raw, fields, warnings, flags)
                 SELECT k, $2, $3, $4, p, $5, $6, $7, g, n, eg, t, r, f, w, fl
                 FROM UNNEST($1::text[], $8::int4[], $9::text[], $10::text[], $11::text[], $12::int8[], $13::text[],
                             $14::text[], $15::text[], $16::text[]) WITH ORDINALITY AS u(k, p, g, n, eg, t, r, f, w, fl, o)
                 ORDER BY o
                 ON CONFLICT (dedup_key) DO NOTHING
                 RETURNING dedup_key, id",
            )
            .await
            .map_err(db_err)?;
        let inserted = tx
            .query(
                &st,
                &[
                    &keys, &b.tenant_id, &b.code, &b.received_ms, &b.organization, &b.business_unit, &b.work_place,
                    &positions, &groups, &names, &kinds, &times, &raws, &fields, &warnings, &flags,
                ],
            )
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let ids: HashMap<String, i64> = inserted.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(keys.iter().map(|k| ids.get(k).copied()).collect())
    }

    async fn events(&self, q: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        let mut sql = format!("SELECT {COLUMNS} FROM events WHERE true");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        for (col, v) in [
            ("tenant_id", &q.tenant_id),
            ("organization", &q.organization),
            ("business_unit", &q.business_unit),
            ("work_place", &q.work_place),
            ("event", &q.event),
            ("group_id", &q.group_id),
        ] {
            if let Some(v) = v {
                args.push(Box::new(v.clone()));
                sql.push_str(&format!(" AND {col} = ${}", args.len()));
            }
        }
        if let Some(f) = q.from_ms {
            args.push(Box::new(f));
            sql.push_str(&format!(" AND occurred_at >= ${}", args.len()));
        }
        if let Some(t) = q.to_ms {
            args.push(Box::new(t));
            sql.push_str(&format!(" AND occurred_at < ${}", args.len()));
        }
        if q.flagged {
            sql.push_str(" AND flags <> '[]'");
        }
        if let Some((t, id)) = q.after {
            args.push(Box::new(t));
            args.push(Box::new(id));
            sql.push_str(&format!(" AND (occurred_at, id) > (${}, ${})", args.len() - 1, args.len()));
        }
        args.push(Box::new(i64::from(q.limit)));
        sql.push_str(&format!(" ORDER BY occurred_at, id LIMIT ${}", args.len()));
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect();
        rows(&self.client().await?, &sql, &params).await
    }

    async fn group_events(
        &self,
        organization: &str,
        business_unit: &str,
        work_place: &str,
        group_ids: &[String],
        since_ms: i64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE group_id = ANY($1) AND work_place = $2 AND business_unit = $3
             AND organization = $4 AND occurred_at >= $5 ORDER BY occurred_at, id"
        );
        let groups = group_ids.to_vec();
        rows(&self.client().await?, &sql, &[&groups, &work_place, &business_unit, &organization, &since_ms]).await
    }

    async fn event_source(&self, organization: &str) -> StoreResult<Option<EventSource>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached("SELECT tenant_id FROM event_sources WHERE organization = $1 AND active")
            .await
            .map_err(db_err)?;
        let Some(r) = c.query_opt(&st, &[&organization]).await.map_err(db_err)? else { return Ok(None) };
        let tenant_id: String = r.get(0);
        let disabled = disabled(&c, &tenant_id).await?;
        Ok(Some(EventSource { tenant_id, disabled_rules: disabled }))
    }

    async fn disabled_event_rules(&self, tenant_id: &str) -> StoreResult<Vec<String>> {
        disabled(&self.client().await?, tenant_id).await
    }

    async fn set_disabled_event_rules(&self, tenant_id: &str, rules: &[String], now_ms: i64) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("DELETE FROM event_rules_disabled WHERE tenant_id = $1", &[&tenant_id]).await.map_err(db_err)?;
        for r in rules {
            tx.execute(
                "INSERT INTO event_rules_disabled (tenant_id, rule, updated_at) VALUES ($1, $2, $3)",
                &[&tenant_id, r, &now_ms],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

async fn disabled(c: &impl GenericClient, tenant_id: &str) -> StoreResult<Vec<String>> {
    let st = c
        .prepare_cached("SELECT rule FROM event_rules_disabled WHERE tenant_id = $1 ORDER BY rule COLLATE \"C\"")
        .await
        .map_err(db_err)?;
    Ok(c.query(&st, &[&tenant_id]).await.map_err(db_err)?.iter().map(|r| r.get(0)).collect())
}
