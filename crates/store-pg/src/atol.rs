//! ATOL Online v3 tables (AtolStore). Same rows and rules as the SQLite backend; each call is one
//! transaction. `external_id` uniqueness is the unique index with `ON CONFLICT DO NOTHING`, so
//! concurrent requests with one pair have exactly one winner (ATOL-51).

use crate::{PgStore, db_err};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use kassa_store::atol::*;
use kassa_store::{StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

const DOC_COLUMNS: &str = "uuid, tenant_id, group_code, operation, external_id, state, timestamp, callback_url, body,
    error_code, error_text, error_type, daemon_code, device_code, payload, attempts, accepted_at, queued_at, queue_seq, updated_at";
const CB_COLUMNS: &str =
    "uuid, tenant_id, group_code, url, body, state, attempts, next_at, last_status, last_error, created_at, updated_at";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> StoreResult<T> {
    r.try_get(i).map_err(|e| StoreError::Corrupt(format!("atol column {i}: {e}")))
}

fn doc_row(r: &Row) -> StoreResult<AtolDocumentRow> {
    let code: Option<i64> = get(r, 9)?;
    Ok(AtolDocumentRow {
        uuid: get(r, 0)?,
        tenant_id: get(r, 1)?,
        group_code: get(r, 2)?,
        operation: get(r, 3)?,
        external_id: get(r, 4)?,
        state: get(r, 5)?,
        timestamp: get(r, 6)?,
        callback_url: get(r, 7)?,
        body: get(r, 8)?,
        error: match code {
            Some(code) => Some(AtolErrorRow { code, text: get(r, 10)?, kind: get(r, 11)? }),
            None => None,
        },
        daemon_code: get(r, 12)?,
        device_code: get(r, 13)?,
        payload: get(r, 14)?,
        attempts: get(r, 15)?,
        accepted_at_ms: get(r, 16)?,
        queued_at_ms: get(r, 17)?,
        queue_seq: get(r, 18)?,
        updated_at_ms: get(r, 19)?,
    })
}

fn cb_row(r: &Row) -> StoreResult<AtolCallbackRow> {
    Ok(AtolCallbackRow {
        uuid: get(r, 0)?,
        tenant_id: get(r, 1)?,
        group_code: get(r, 2)?,
        url: get(r, 3)?,
        body: get(r, 4)?,
        state: get(r, 5)?,
        attempts: get(r, 6)?,
        next_at_ms: get(r, 7)?,
        last_status: get(r, 8)?,
        last_error: get(r, 9)?,
        created_at_ms: get(r, 10)?,
        updated_at_ms: get(r, 11)?,
    })
}

fn token_row(r: &Row) -> StoreResult<AtolTokenRow> {
    Ok(AtolTokenRow { token: get(r, 0)?, tenant_id: get(r, 1)?, login: get(r, 2)?, issued_at_ms: get(r, 3)? })
}

async fn query(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&st, params).await.map_err(db_err)
}

async fn execute(c: &impl GenericClient, sql: &str, params: Params<'_>) -> StoreResult<u64> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.execute(&st, params).await.map_err(db_err)
}

fn err_parts(e: &Option<AtolErrorRow>) -> (Option<i64>, Option<&str>, Option<&str>) {
    match e {
        Some(e) => (Some(e.code), Some(e.text.as_str()), Some(e.kind.as_str())),
        None => (None, None, None),
    }
}

async fn filtered<T>(
    s: &PgStore,
    table: &str,
    columns: &str,
    order: &str,
    f: &AtolFilter,
    map: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE ($1::TEXT IS NULL OR tenant_id = $1) AND ($2::TEXT IS NULL OR group_code = $2)
         AND ($3::TEXT IS NULL OR state = $3) ORDER BY {order} DESC LIMIT $4"
    );
    query(&s.client().await?, &sql, &[&f.tenant_id, &f.group_code, &f.state, &f.limit]).await?.iter().map(map).collect()
}

#[async_trait]
impl AtolStore for PgStore {
    async fn atol_current_token(&self, tenant_id: &str, login: &str) -> StoreResult<Option<AtolTokenRow>> {
        let rows = query(
            &self.client().await?,
            "SELECT t.token, t.tenant_id, t.login, t.issued_at FROM atol_current_tokens ct
             JOIN atol_tokens t ON t.token = ct.token WHERE ct.tenant_id = $1 AND ct.login = $2",
            &[&tenant_id, &login],
        )
        .await?;
        rows.first().map(token_row).transpose()
    }

    async fn atol_issue_token(&self, t: &AtolTokenRow) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        execute(
            &tx,
            "INSERT INTO atol_tokens (token, tenant_id, login, issued_at) VALUES ($1, $2, $3, $4)",
            &[&t.token, &t.tenant_id, &t.login, &t.issued_at_ms],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO atol_current_tokens (tenant_id, login, token) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, login) DO UPDATE SET token = excluded.token",
            &[&t.tenant_id, &t.login, &t.token],
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn atol_token(&self, token: &str) -> StoreResult<Option<AtolTokenRow>> {
        let rows = query(
            &self.client().await?,
            "SELECT token, tenant_id, login, issued_at FROM atol_tokens WHERE token = $1",
            &[&token],
        )
        .await?;
        rows.first().map(token_row).transpose()
    }

    async fn atol_insert_documents(&self, docs: &[NewAtolDocument]) -> StoreResult<Vec<AtolInsert>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let mut out = Vec::with_capacity(docs.len());
        for d in docs {
            let (code, text, kind) = err_parts(&d.error);
            let inserted = execute(
                &tx,
                "INSERT INTO atol_documents (uuid, tenant_id, group_code, operation, external_id, state, timestamp,
                   callback_url, body, error_code, error_text, error_type, accepted_at, queued_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13)
                 ON CONFLICT (tenant_id, group_code, external_id) DO NOTHING",
                &[
                    &d.uuid, &d.tenant_id, &d.group_code, &d.operation, &d.external_id, &d.state, &d.timestamp,
                    &d.callback_url, &d.body, &code, &text, &kind, &d.now_ms,
                ],
            )
            .await?;
            if inserted == 1 {
                out.push(AtolInsert::Stored);
                continue;
            }
            let rows = query(
                &tx,
                "SELECT uuid, timestamp FROM atol_documents WHERE tenant_id = $1 AND group_code = $2 AND external_id = $3",
                &[&d.tenant_id, &d.group_code, &d.external_id],
            )
            .await?;
            let r = rows.first().ok_or_else(|| StoreError::Conflict(format!("document {} clashes", d.uuid)))?;
            out.push(AtolInsert::Duplicate { uuid: get(r, 0)?, timestamp: get(r, 1)? });
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn atol_external_id(&self, tenant_id: &str, group_code: &str, external_id: &str)
        -> StoreResult<Option<(String, String)>> {
        let rows = query(
            &self.client().await?,
            "SELECT uuid, timestamp FROM atol_documents WHERE tenant_id = $1 AND group_code = $2 AND external_id = $3",
            &[&tenant_id, &group_code, &external_id],
        )
        .await?;
        rows.first().map(|r| Ok((get(r, 0)?, get(r, 1)?))).transpose()
    }

    async fn atol_document(&self, tenant_id: &str, group_code: &str, uuid: &str) -> StoreResult<Option<AtolDocumentRow>> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM atol_documents WHERE uuid = $1 AND tenant_id = $2 AND group_code = $3");
        let rows = query(&self.client().await?, &sql, &[&uuid, &tenant_id, &group_code]).await?;
        rows.first().map(doc_row).transpose()
    }

    async fn atol_documents(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolDocumentRow>> {
        filtered(self, "atol_documents", DOC_COLUMNS, "accepted_at", filter, doc_row).await
    }

    async fn atol_queue(&self, tenant_id: &str, group_code: &str, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM atol_documents WHERE tenant_id = $1 AND group_code = $2 AND state = 'queued'
             ORDER BY queue_seq LIMIT $3"
        );
        query(&self.client().await?, &sql, &[&tenant_id, &group_code, &limit]).await?.iter().map(doc_row).collect()
    }

    async fn atol_queued_groups(&self, cap: i64) -> StoreResult<Vec<(String, String, i64)>> {
        let rows = query(
            &self.client().await?,
            "SELECT tenant_id, group_code, least(count(*), $1) FROM atol_documents WHERE state = 'queued'
             GROUP BY tenant_id, group_code ORDER BY tenant_id COLLATE \"C\", group_code COLLATE \"C\"",
            &[&cap],
        )
        .await?;
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?))).collect()
    }

    async fn atol_queued_before(&self, cutoff_ms: i64, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM atol_documents WHERE state = 'queued' AND queued_at <= $1 ORDER BY queued_at LIMIT $2"
        );
        query(&self.client().await?, &sql, &[&cutoff_ms, &limit]).await?.iter().map(doc_row).collect()
    }

    async fn atol_in_progress(&self, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM atol_documents WHERE state = 'in_progress' ORDER BY updated_at LIMIT $1");
        query(&self.client().await?, &sql, &[&limit]).await?.iter().map(doc_row).collect()
    }

    async fn atol_transition(&self, ts: &[AtolTransition]) -> StoreResult<Vec<bool>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let mut out = Vec::with_capacity(ts.len());
        for t in ts {
            let (code, text, kind) = err_parts(&t.error);
            let n = execute(
                &tx,
                "UPDATE atol_documents SET state = $3, attempts = $4, error_code = $5, error_text = $6, error_type = $7,
                   daemon_code = $8, device_code = $9, payload = $10, queued_at = coalesce($11, queued_at),
                   queue_seq = CASE WHEN $11::BIGINT IS NULL THEN queue_seq ELSE nextval('atol_queue_seq') END,
                   updated_at = $12
                 WHERE uuid = $1 AND state = $2 AND ($13::BIGINT IS NULL OR attempts = $13)",
                &[
                    &t.uuid, &t.from_state, &t.to_state, &t.attempts, &code, &text, &kind, &t.daemon_code,
                    &t.device_code, &t.payload, &t.requeue_at_ms, &t.now_ms, &t.from_attempts,
                ],
            )
            .await?;
            if n == 1
                && let Some(cb) = &t.callback {
                    execute(
                        &tx,
                        "INSERT INTO atol_callbacks (uuid, tenant_id, group_code, url, body, state, attempts, next_at,
                           created_at, updated_at)
                         SELECT uuid, tenant_id, group_code, $2, $3, 'pending', 0, $4, $5, $5 FROM atol_documents WHERE uuid = $1",
                        &[&t.uuid, &cb.url, &cb.body, &cb.next_at_ms, &t.now_ms],
                    )
                    .await?;
                }
            out.push(n == 1);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn atol_due_callbacks(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<AtolCallbackRow>> {
        let sql = format!(
            "SELECT {CB_COLUMNS} FROM atol_callbacks WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at LIMIT $2"
        );
        query(&self.client().await?, &sql, &[&now_ms, &limit]).await?.iter().map(cb_row).collect()
    }

    async fn atol_callback_attempt(&self, a: &AtolCallbackAttempt) -> StoreResult<bool> {
        let n = execute(
            &self.client().await?,
            "UPDATE atol_callbacks SET state = $3, attempts = attempts + 1, next_at = $4, last_status = $5,
               last_error = $6, updated_at = $7 WHERE uuid = $1 AND attempts = $2 AND state = 'pending'",
            &[&a.uuid, &a.from_attempts, &a.state, &a.next_at_ms, &a.last_status, &a.last_error, &a.now_ms],
        )
        .await?;
        Ok(n == 1)
    }

    async fn atol_callbacks(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolCallbackRow>> {
        filtered(self, "atol_callbacks", CB_COLUMNS, "created_at", filter, cb_row).await
    }
}
