//! ATOL Online v3 tables (AtolStore). Writes go through the group-commit writer, so concurrent
//! registrations share one COMMIT; each call is its own savepoint (all or nothing).

use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use kassa_store::atol::*;
use kassa_store::StoreResult;
use rusqlite::{Connection, OptionalExtension, Row, params};

const DOC_COLUMNS: &str = "uuid, tenant_id, group_code, operation, external_id, state, timestamp, callback_url, body,
    error_code, error_text, error_type, daemon_code, device_code, payload, attempts, accepted_at, queued_at, queue_seq, updated_at";
const CB_COLUMNS: &str =
    "uuid, tenant_id, group_code, url, body, state, attempts, next_at, last_status, last_error, created_at, updated_at";

fn doc_row(r: &Row) -> rusqlite::Result<AtolDocumentRow> {
    let code: Option<i64> = r.get(9)?;
    Ok(AtolDocumentRow {
        uuid: r.get(0)?,
        tenant_id: r.get(1)?,
        group_code: r.get(2)?,
        operation: r.get(3)?,
        external_id: r.get(4)?,
        state: r.get(5)?,
        timestamp: r.get(6)?,
        callback_url: r.get(7)?,
        body: r.get(8)?,
        error: match code {
            Some(code) => Some(AtolErrorRow { code, text: r.get(10)?, kind: r.get(11)? }),
            None => None,
        },
        daemon_code: r.get(12)?,
        device_code: r.get(13)?,
        payload: r.get(14)?,
        attempts: r.get(15)?,
        accepted_at_ms: r.get(16)?,
        queued_at_ms: r.get(17)?,
        queue_seq: r.get(18)?,
        updated_at_ms: r.get(19)?,
    })
}

fn cb_row(r: &Row) -> rusqlite::Result<AtolCallbackRow> {
    Ok(AtolCallbackRow {
        uuid: r.get(0)?,
        tenant_id: r.get(1)?,
        group_code: r.get(2)?,
        url: r.get(3)?,
        body: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        next_at_ms: r.get(7)?,
        last_status: r.get(8)?,
        last_error: r.get(9)?,
        created_at_ms: r.get(10)?,
        updated_at_ms: r.get(11)?,
    })
}

fn token_row(r: &Row) -> rusqlite::Result<AtolTokenRow> {
    Ok(AtolTokenRow { token: r.get(0)?, tenant_id: r.get(1)?, login: r.get(2)?, issued_at_ms: r.get(3)? })
}

fn query<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: fn(&Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut st = c.prepare_cached(sql).map_err(db_err)?;
    st.query_map(params, f).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
}

/// The tail of every group's queue (ATOL-5): queue positions come from one counter that only
/// grows, so a new or re-queued document always goes behind everything queued before it. Only
/// the writer thread takes positions; the counter starts past the largest queued one (read from
/// the queue index, so a long history does not slow the start).
pub(crate) struct QueueTail(std::sync::atomic::AtomicI64);

impl QueueTail {
    pub(crate) fn load(c: &Connection) -> StoreResult<Self> {
        let max: i64 = c
            .query_row("SELECT coalesce(max(queue_seq), 0) FROM atol_documents WHERE state = 'queued'", [], |r| r.get(0))
            .map_err(db_err)?;
        Ok(Self(std::sync::atomic::AtomicI64::new(max)))
    }

    fn next(&self) -> i64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}

fn insert_documents(c: &Connection, tail: &QueueTail, docs: &[NewAtolDocument]) -> StoreResult<Vec<AtolInsert>> {
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let (code, text, kind) = match &d.error {
            Some(e) => (Some(e.code), Some(e.text.as_str()), Some(e.kind.as_str())),
            None => (None, None, None),
        };
        // One statement in the common case; the unique index decides a clash (ATOL-51).
        let inserted = c
            .prepare_cached(
                "INSERT INTO atol_documents (uuid, tenant_id, group_code, operation, external_id, state, timestamp,
                   callback_url, body, error_code, error_text, error_type, accepted_at, queued_at, queue_seq, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?13)
                 ON CONFLICT (tenant_id, group_code, external_id) DO NOTHING",
            )
            .map_err(db_err)?
            .execute(params![
                d.uuid, d.tenant_id, d.group_code, d.operation, d.external_id, d.state, d.timestamp, d.callback_url,
                d.body, code, text, kind, d.now_ms, tail.next()
            ])
            .map_err(db_err)?;
        if inserted == 1 {
            out.push(AtolInsert::Stored);
            continue;
        }
        let (uuid, timestamp): (String, String) = c
            .prepare_cached(
                "SELECT uuid, timestamp FROM atol_documents WHERE tenant_id = ?1 AND group_code = ?2 AND external_id = ?3",
            )
            .map_err(db_err)?
            .query_row(params![d.tenant_id, d.group_code, d.external_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        out.push(AtolInsert::Duplicate { uuid, timestamp });
    }
    Ok(out)
}

fn transition(c: &Connection, tail: &QueueTail, ts: &[AtolTransition]) -> StoreResult<Vec<bool>> {
    let mut out = Vec::with_capacity(ts.len());
    for t in ts {
        let seq = t.requeue_at_ms.map(|_| tail.next());
        let (code, text, kind) = match &t.error {
            Some(e) => (Some(e.code), Some(e.text.as_str()), Some(e.kind.as_str())),
            None => (None, None, None),
        };
        let n = c
            .prepare_cached(
                "UPDATE atol_documents SET state = ?3, attempts = ?4, error_code = ?5, error_text = ?6, error_type = ?7,
                   daemon_code = ?8, device_code = ?9, payload = ?10, queued_at = coalesce(?11, queued_at),
                   queue_seq = coalesce(?12, queue_seq), updated_at = ?13
                 WHERE uuid = ?1 AND state = ?2 AND (?14 IS NULL OR attempts = ?14)",
            )
            .map_err(db_err)?
            .execute(params![
                t.uuid, t.from_state, t.to_state, t.attempts, code, text, kind, t.daemon_code, t.device_code,
                t.payload, t.requeue_at_ms, seq, t.now_ms, t.from_attempts
            ])
            .map_err(db_err)?;
        if n == 1
            && let Some(cb) = &t.callback {
                c.prepare_cached(
                    "INSERT INTO atol_callbacks (uuid, tenant_id, group_code, url, body, state, attempts, next_at,
                       created_at, updated_at)
                     SELECT uuid, tenant_id, group_code, ?2, ?3, 'pending', 0, ?4, ?5, ?5 FROM atol_documents WHERE uuid = ?1",
                )
                .map_err(db_err)?
                .execute(params![t.uuid, cb.url, cb.body, cb.next_at_ms, t.now_ms])
                .map_err(db_err)?;
            }
        out.push(n == 1);
    }
    Ok(out)
}

fn filtered<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    order: &str,
    f: &AtolFilter,
    map: fn(&Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let _ = order; // newest first: rowid order is insertion order
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR group_code = ?2)
         AND (?3 IS NULL OR state = ?3) ORDER BY rowid DESC LIMIT ?4"
    );
    query(c, &sql, params![f.tenant_id, f.group_code, f.state, f.limit], map)
}

#[async_trait]
impl AtolStore for SqliteStore {
    async fn atol_current_token(&self, tenant_id: &str, login: &str) -> StoreResult<Option<AtolTokenRow>> {
        let (t, l) = (tenant_id.to_owned(), login.to_owned());
        self.read(move |c| {
            c.prepare_cached(
                "SELECT t.token, t.tenant_id, t.login, t.issued_at FROM atol_current_tokens ct
                 JOIN atol_tokens t ON t.token = ct.token WHERE ct.tenant_id = ?1 AND ct.login = ?2",
            )
            .map_err(db_err)?
            .query_row(params![t, l], token_row)
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn atol_issue_token(&self, token: &AtolTokenRow) -> StoreResult<()> {
        let t = token.clone();
        self.write(move |c| {
            c.prepare_cached("INSERT INTO atol_tokens (token, tenant_id, login, issued_at) VALUES (?1, ?2, ?3, ?4)")
                .map_err(db_err)?
                .execute(params![t.token, t.tenant_id, t.login, t.issued_at_ms])
                .map_err(db_err)?;
            c.prepare_cached(
                "INSERT INTO atol_current_tokens (tenant_id, login, token) VALUES (?1, ?2, ?3)
                 ON CONFLICT(tenant_id, login) DO UPDATE SET token = excluded.token",
            )
            .map_err(db_err)?
            .execute(params![t.tenant_id, t.login, t.token])
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn atol_token(&self, token: &str) -> StoreResult<Option<AtolTokenRow>> {
        let t = token.to_owned();
        self.read_point(move |c| {
            c.prepare_cached("SELECT token, tenant_id, login, issued_at FROM atol_tokens WHERE token = ?1")
                .map_err(db_err)?
                .query_row([t], token_row)
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn atol_insert_documents(&self, docs: &[NewAtolDocument]) -> StoreResult<Vec<AtolInsert>> {
        let (docs, inner) = (docs.to_vec(), self.inner.clone());
        self.write(move |c| insert_documents(c, &inner.atol_tail, &docs)).await
    }

    async fn atol_external_id(&self, tenant_id: &str, group_code: &str, external_id: &str)
        -> StoreResult<Option<(String, String)>> {
        let (t, g, e) = (tenant_id.to_owned(), group_code.to_owned(), external_id.to_owned());
        self.read_point(move |c| {
            c.prepare_cached(
                "SELECT uuid, timestamp FROM atol_documents WHERE tenant_id = ?1 AND group_code = ?2 AND external_id = ?3",
            )
            .map_err(db_err)?
            .query_row(params![t, g, e], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn atol_document(&self, tenant_id: &str, group_code: &str, uuid: &str) -> StoreResult<Option<AtolDocumentRow>> {
        let (t, g, u) = (tenant_id.to_owned(), group_code.to_owned(), uuid.to_owned());
        self.read_point(move |c| {
            let sql = format!("SELECT {DOC_COLUMNS} FROM atol_documents WHERE uuid = ?1 AND tenant_id = ?2 AND group_code = ?3");
            Ok(query(c, &sql, params![u, t, g], doc_row)?.pop())
        })
        .await
    }

    async fn atol_documents(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolDocumentRow>> {
        let f = filter.clone();
        self.read(move |c| filtered(c, "atol_documents", DOC_COLUMNS, "accepted_at", &f, doc_row)).await
    }

    async fn atol_queue(&self, tenant_id: &str, group_code: &str, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        let (t, g) = (tenant_id.to_owned(), group_code.to_owned());
        self.read(move |c| {
            let sql = format!(
                "SELECT {DOC_COLUMNS} FROM atol_documents WHERE tenant_id = ?1 AND group_code = ?2 AND state = 'queued'
                 ORDER BY queue_seq LIMIT ?3"
            );
            query(c, &sql, params![t, g, limit], doc_row)
        })
        .await
    }

    async fn atol_queued_groups(&self, cap: i64) -> StoreResult<Vec<(String, String, i64)>> {
        // A skip scan over the queue index: one seek per group, then a count that stops at `cap`,
        // so a long backlog costs the dispatcher no more than a short one.
        self.read(move |c| {
            query(
                c,
                "WITH RECURSIVE g(t, c) AS (
                   SELECT * FROM (SELECT tenant_id, group_code FROM atol_documents WHERE state = 'queued'
                                  ORDER BY tenant_id, group_code LIMIT 1)
                   UNION ALL
                   SELECT (SELECT tenant_id FROM atol_documents WHERE state = 'queued' AND (tenant_id, group_code) > (g.t, g.c)
                           ORDER BY tenant_id, group_code LIMIT 1),
                          (SELECT group_code FROM atol_documents WHERE state = 'queued' AND (tenant_id, group_code) > (g.t, g.c)
                           ORDER BY tenant_id, group_code LIMIT 1)
                   FROM g WHERE g.t IS NOT NULL)
                 SELECT t, c, (SELECT count(*) FROM (SELECT 1 FROM atol_documents
                                WHERE tenant_id = g.t AND group_code = g.c AND state = 'queued' LIMIT ?1))
                 FROM g WHERE t IS NOT NULL ORDER BY t, c",
                [cap],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .await
    }

    async fn atol_queued_before(&self, cutoff_ms: i64, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {DOC_COLUMNS} FROM atol_documents WHERE state = 'queued' AND queued_at <= ?1 ORDER BY queued_at LIMIT ?2"
            );
            query(c, &sql, params![cutoff_ms, limit], doc_row)
        })
        .await
    }

    async fn atol_in_progress(&self, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        self.read(move |c| {
            let sql =
                format!("SELECT {DOC_COLUMNS} FROM atol_documents WHERE state = 'in_progress' ORDER BY updated_at LIMIT ?1");
            query(c, &sql, params![limit], doc_row)
        })
        .await
    }

    async fn atol_transition(&self, ts: &[AtolTransition]) -> StoreResult<Vec<bool>> {
        let (ts, inner) = (ts.to_vec(), self.inner.clone());
        self.write(move |c| transition(c, &inner.atol_tail, &ts)).await
    }

    async fn atol_due_callbacks(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<AtolCallbackRow>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {CB_COLUMNS} FROM atol_callbacks WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at LIMIT ?2"
            );
            query(c, &sql, params![now_ms, limit], cb_row)
        })
        .await
    }

    async fn atol_callback_attempt(&self, a: &AtolCallbackAttempt) -> StoreResult<bool> {
        let a = a.clone();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE atol_callbacks SET state = ?3, attempts = attempts + 1, next_at = ?4, last_status = ?5,
                       last_error = ?6, updated_at = ?7 WHERE uuid = ?1 AND attempts = ?2 AND state = 'pending'",
                )
                .map_err(db_err)?
                .execute(params![a.uuid, a.from_attempts, a.state, a.next_at_ms, a.last_status, a.last_error, a.now_ms])
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn atol_callbacks(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolCallbackRow>> {
        let f = filter.clone();
        self.read(move |c| filtered(c, "atol_callbacks", CB_COLUMNS, "created_at", &f, cb_row)).await
    }
}

