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
/// the queue indexes, so a long history does not slow the start).
pub(crate) struct QueueTail(std::sync::atomic::AtomicI64);

impl QueueTail {
    pub(crate) fn load(c: &Connection) -> StoreResult<Self> {
        let max: i64 = c
            .query_row(
                "SELECT coalesce(max(m), 0) FROM (
                   SELECT max(queue_seq) AS m FROM atol_documents WHERE state = 'queued'
                   UNION ALL SELECT max(queue_seq) FROM atol_intake WHERE state = 'queued')",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        Ok(Self(std::sync::atomic::AtomicI64::new(max)))
    }

    fn next(&self) -> i64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}

/// The acceptance log `atol_intake` and the keys of its rows, kept in memory in place of the
/// random-key indexes of `atol_documents` (uuid, and `(tenant, group, external_id)` for
/// ATOL-71). Acknowledging a registration then writes its row and little else; the writer folds
/// the log into `atol_documents` in large chunks (see [`fold`]). Keys are 64-bit hashes with
/// a per-process random seed, each mapped to the rowids that have it; every hit is confirmed by
/// reading the row, so a collision costs a read, never a wrong answer.
pub(crate) struct Intake {
    keys: std::sync::Mutex<IntakeKeys>,
    seed: std::hash::RandomState,
}

#[derive(Default)]
struct IntakeKeys {
    by_uuid: KeyMap,
    by_external: KeyMap,
}

/// Hash → rowids. One rowid per hash in `first`; the rare second one with the same hash (a
/// 64-bit collision) waits in `more`.
#[derive(Default)]
struct KeyMap {
    first: std::collections::HashMap<u64, i64>,
    more: Vec<(u64, i64)>,
}

impl KeyMap {
    fn insert(&mut self, h: u64, rowid: i64) {
        if let Some(&taken) = self.first.get(&h)
            && taken != rowid
        {
            self.more.push((h, rowid));
        } else {
            self.first.insert(h, rowid);
        }
    }

    fn remove(&mut self, h: u64, rowid: i64) {
        if self.first.get(&h) == Some(&rowid) {
            self.first.remove(&h);
            if let Some(i) = self.more.iter().position(|(m, _)| *m == h) {
                let (_, next) = self.more.swap_remove(i);
                self.first.insert(h, next);
            }
        } else {
            self.more.retain(|m| *m != (h, rowid));
        }
    }

    fn hits(&self, h: u64) -> Vec<i64> {
        let first = self.first.get(&h).copied();
        first.into_iter().chain(self.more.iter().filter(|(m, _)| *m == h).map(|(_, r)| *r)).collect()
    }

    fn len(&self) -> usize {
        self.first.len() + self.more.len()
    }
}

/// What a log row's keys are made of.
const KEY_COLUMNS: &str = "rowid, uuid, tenant_id, group_code, external_id";

/// The in-memory keys of one log row.
#[derive(Clone, Copy)]
pub(crate) struct IntakeKey {
    rowid: i64,
    uuid: u64,
    external: Option<u64>,
}

impl Intake {
    /// Rebuilds the keys from the log (after a restart the log is the durable truth).
    pub(crate) fn load(c: &Connection) -> StoreResult<Self> {
        let intake = Self { keys: Default::default(), seed: std::hash::RandomState::new() };
        let keys = intake.read_keys(c, &format!("SELECT {KEY_COLUMNS} FROM atol_intake"), [])?;
        intake.add(&keys);
        Ok(intake)
    }

    /// The keys of the log rows `sql` selects (its columns: [`KEY_COLUMNS`]).
    fn read_keys(&self, c: &Connection, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<IntakeKey>> {
        let mut st = c.prepare_cached(sql).map_err(db_err)?;
        let keys = st.query_map(params, |r| {
            let (uuid, tenant, group): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
            Ok(self.key(r.get(0)?, &uuid, &tenant, &group, r.get::<_, Option<String>>(4)?.as_deref()))
        });
        keys.map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
    }

    fn key(&self, rowid: i64, uuid: &str, tenant: &str, group: &str, external: Option<&str>) -> IntakeKey {
        IntakeKey { rowid, uuid: self.uuid_hash(uuid), external: external.map(|e| self.external_hash(tenant, group, e)) }
    }

    fn uuid_hash(&self, uuid: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.seed, uuid)
    }

    fn external_hash(&self, tenant: &str, group: &str, external: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.seed, (tenant, group, external))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IntakeKeys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Rows waiting to be folded.
    pub(crate) fn len(&self) -> usize {
        self.lock().by_uuid.len()
    }

    pub(crate) fn add(&self, keys: &[IntakeKey]) {
        let mut k = self.lock();
        for key in keys {
            k.by_uuid.insert(key.uuid, key.rowid);
            if let Some(e) = key.external {
                k.by_external.insert(e, key.rowid);
            }
        }
    }

    pub(crate) fn remove(&self, keys: &[IntakeKey]) {
        let mut k = self.lock();
        for key in keys {
            k.by_uuid.remove(key.uuid, key.rowid);
            if let Some(e) = key.external {
                k.by_external.remove(e, key.rowid);
            }
        }
    }

    /// The log row of `uuid`, if it is (still) there.
    fn rowid_of(&self, c: &Connection, uuid: &str) -> StoreResult<Option<i64>> {
        let candidates = self.lock().by_uuid.hits(self.uuid_hash(uuid));
        for rowid in candidates {
            let found = c
                .prepare_cached("SELECT 1 FROM atol_intake WHERE rowid = ?1 AND uuid = ?2")
                .map_err(db_err)?
                .exists(params![rowid, uuid])
                .map_err(db_err)?;
            if found {
                return Ok(Some(rowid));
            }
        }
        Ok(None)
    }

    /// The `(uuid, timestamp)` of the log row with this external_id in the group.
    fn external(&self, c: &Connection, tenant: &str, group: &str, external: &str) -> StoreResult<Option<(String, String)>> {
        let candidates = self.lock().by_external.hits(self.external_hash(tenant, group, external));
        for rowid in candidates {
            let found = c
                .prepare_cached(
                    "SELECT uuid, timestamp FROM atol_intake
                     WHERE rowid = ?1 AND tenant_id = ?2 AND group_code = ?3 AND external_id = ?4",
                )
                .map_err(db_err)?
                .query_row(params![rowid, tenant, group, external], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(db_err)?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// Where a document lives: in the log (by rowid) or folded (by uuid).
struct Location {
    table: &'static str,
    rowid: Option<i64>,
}

impl Location {
    fn find(c: &Connection, intake: &Intake, uuid: &str) -> StoreResult<Self> {
        Ok(match intake.rowid_of(c, uuid)? {
            Some(rowid) => Self { table: "atol_intake", rowid: Some(rowid) },
            None => Self { table: "atol_documents", rowid: None },
        })
    }

    /// The row's condition, with the uuid bound as `?u` and the rowid (or NULL) as `?r`.
    fn key(&self, u: usize, r: usize) -> String {
        match self.rowid {
            Some(_) => format!("rowid = ?{r} AND uuid = ?{u}"),
            None => format!("uuid = ?{u} AND ?{r} IS NULL"),
        }
    }
}

/// The accepted document of a group with this external_id, wherever it lives.
fn external_of(c: &Connection, intake: &Intake, t: &str, g: &str, e: &str) -> StoreResult<Option<(String, String)>> {
    if let Some(found) = intake.external(c, t, g, e)? {
        return Ok(Some(found));
    }
    c.prepare_cached("SELECT uuid, timestamp FROM atol_documents WHERE tenant_id = ?1 AND group_code = ?2 AND external_id = ?3")
        .map_err(db_err)?
        .query_row(params![t, g, e], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)
}

/// Appends registrations to the log. ATOL-71/51: an external_id taken in the group (in the log
/// or folded) answers `Duplicate`. The keys of new rows are recorded in `added` at once, so a
/// later call of the same group commit sees them; the caller drops them if the commit fails.
pub(crate) fn insert_documents(
    c: &Connection,
    tail: &QueueTail,
    intake: &Intake,
    docs: &[NewAtolDocument],
    added: &mut Vec<IntakeKey>,
) -> StoreResult<Vec<AtolInsert>> {
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        if let Some(ext) = &d.external_id
            && let Some((uuid, timestamp)) = external_of(c, intake, &d.tenant_id, &d.group_code, ext)?
        {
            out.push(AtolInsert::Duplicate { uuid, timestamp });
            continue;
        }
        // uuids are random v4 (ATOL-24); a repeated one is refused here as the folded table's
        // primary key would refuse it, so the fold never meets a conflict.
        let folded = c
            .prepare_cached("SELECT 1 FROM atol_documents WHERE uuid = ?1")
            .map_err(db_err)?
            .exists([&d.uuid])
            .map_err(db_err)?;
        if folded || intake.rowid_of(c, &d.uuid)?.is_some() {
            return Err(kassa_store::StoreError::Conflict(format!("document {} exists", d.uuid)));
        }
        let (code, text, kind) = match &d.error {
            Some(e) => (Some(e.code), Some(e.text.as_str()), Some(e.kind.as_str())),
            None => (None, None, None),
        };
        c.prepare_cached(
            "INSERT INTO atol_intake (uuid, tenant_id, group_code, operation, external_id, state, timestamp,
               callback_url, body, error_code, error_text, error_type, accepted_at, queued_at, queue_seq, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?13)",
        )
        .map_err(db_err)?
        .execute(params![
            d.uuid, d.tenant_id, d.group_code, d.operation, d.external_id, d.state, d.timestamp, d.callback_url,
            d.body, code, text, kind, d.now_ms, tail.next()
        ])
        .map_err(db_err)?;
        let key = intake.key(c.last_insert_rowid(), &d.uuid, &d.tenant_id, &d.group_code, d.external_id.as_deref());
        intake.add(&[key]);
        added.push(key);
        out.push(AtolInsert::Stored);
    }
    Ok(out)
}

/// Moves up to `max_rows` of the oldest log rows into `atol_documents` in one transaction
/// (outside any group commit) and forgets their keys once it is durable. The indexes of
/// `atol_documents` then take many keys per page written, where acceptance took one.
pub(crate) fn fold(c: &Connection, intake: &Intake, max_rows: i64) -> StoreResult<usize> {
    c.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let moved = (|| {
        let keys = intake.read_keys(c, &format!("SELECT {KEY_COLUMNS} FROM atol_intake ORDER BY rowid LIMIT ?1"), [max_rows])?;
        let Some(last) = keys.last().map(|k| k.rowid) else { return Ok(keys) };
        c.prepare_cached(&format!(
            "INSERT INTO atol_documents ({DOC_COLUMNS}) SELECT {DOC_COLUMNS} FROM atol_intake WHERE rowid <= ?1 ORDER BY rowid"
        ))
        .map_err(db_err)?
        .execute([last])
        .map_err(db_err)?;
        c.prepare_cached("DELETE FROM atol_intake WHERE rowid <= ?1").map_err(db_err)?.execute([last]).map_err(db_err)?;
        Ok(keys)
    })();
    match moved.and_then(|keys| c.execute_batch("COMMIT").map_err(db_err).map(|()| keys)) {
        Ok(keys) => {
            intake.remove(&keys);
            Ok(keys.len())
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn transition(c: &Connection, tail: &QueueTail, intake: &Intake, ts: &[AtolTransition]) -> StoreResult<Vec<bool>> {
    let mut out = Vec::with_capacity(ts.len());
    for t in ts {
        let seq = t.requeue_at_ms.map(|_| tail.next());
        let (code, text, kind) = match &t.error {
            Some(e) => (Some(e.code), Some(e.text.as_str()), Some(e.kind.as_str())),
            None => (None, None, None),
        };
        let at = Location::find(c, intake, &t.uuid)?;
        let n = c
            .prepare_cached(&format!(
                "UPDATE {} SET state = ?3, attempts = ?4, error_code = ?5, error_text = ?6, error_type = ?7,
                   daemon_code = ?8, device_code = ?9, payload = ?10, queued_at = coalesce(?11, queued_at),
                   queue_seq = coalesce(?12, queue_seq), updated_at = ?13
                 WHERE {} AND state = ?2 AND (?14 IS NULL OR attempts = ?14)",
                at.table,
                at.key(1, 15)
            ))
            .map_err(db_err)?
            .execute(params![
                t.uuid, t.from_state, t.to_state, t.attempts, code, text, kind, t.daemon_code, t.device_code,
                t.payload, t.requeue_at_ms, seq, t.now_ms, t.from_attempts, at.rowid
            ])
            .map_err(db_err)?;
        if n == 1
            && let Some(cb) = &t.callback {
                c.prepare_cached(&format!(
                    "INSERT INTO atol_callbacks (uuid, tenant_id, group_code, url, body, state, attempts, next_at,
                       created_at, updated_at)
                     SELECT uuid, tenant_id, group_code, ?2, ?3, 'pending', 0, ?4, ?5, ?5 FROM {} WHERE {}",
                    at.table,
                    at.key(1, 6)
                ))
                .map_err(db_err)?
                .execute(params![t.uuid, cb.url, cb.body, cb.next_at_ms, t.now_ms, at.rowid])
                .map_err(db_err)?;
            }
        out.push(n == 1);
    }
    Ok(out)
}

/// The groups with queued documents in `table` and their queue lengths counted up to `cap`: a
/// skip scan over the queue index, one seek per group (the next group of the same tenant, else
/// the first group of the next tenant), so a long backlog costs no more than a short one.
fn queued_groups(c: &Connection, table: &str, cap: i64) -> StoreResult<Vec<((String, String), i64)>> {
    let next_in_tenant = format!(
        "SELECT tenant_id, group_code FROM {table} WHERE state = 'queued' AND tenant_id = ?1 AND group_code > ?2
         ORDER BY tenant_id, group_code LIMIT 1"
    );
    let next_tenant = format!(
        "SELECT tenant_id, group_code FROM {table} WHERE state = 'queued' AND tenant_id > ?1
         ORDER BY tenant_id, group_code LIMIT 1"
    );
    let count = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE tenant_id = ?1 AND group_code = ?2 AND state = 'queued' LIMIT ?3)"
    );
    let pair = |r: &Row| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
    let mut out = Vec::new();
    let mut at = (String::new(), String::new());
    loop {
        let mut next = c.prepare_cached(&next_in_tenant).map_err(db_err)?.query_row(params![at.0, at.1], pair).optional().map_err(db_err)?;
        if next.is_none() {
            next = c.prepare_cached(&next_tenant).map_err(db_err)?.query_row([&at.0], pair).optional().map_err(db_err)?;
        }
        let Some(group) = next else { return Ok(out) };
        let n: i64 = c.prepare_cached(&count).map_err(db_err)?.query_row(params![group.0, group.1, cap], |r| r.get(0)).map_err(db_err)?;
        out.push((group.clone(), n));
        at = group;
    }
}

/// `SELECT {DOC_COLUMNS}` from the log and the folded table together: each side ordered and
/// limited on its own index, then merged.
fn both(filter: &str, order: &str, limit: &str) -> String {
    format!(
        "SELECT * FROM (SELECT {DOC_COLUMNS} FROM atol_intake WHERE {filter} ORDER BY {order} LIMIT {limit})
         UNION ALL SELECT * FROM (SELECT {DOC_COLUMNS} FROM atol_documents WHERE {filter} ORDER BY {order} LIMIT {limit})
         ORDER BY {order} LIMIT {limit}"
    )
}

fn filtered<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    f: &AtolFilter,
    map: fn(&Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    // Newest first: rowid order is insertion order.
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
        let (docs, inner, undo) = (docs.to_vec(), self.inner.clone(), self.inner.clone());
        let (answers, _) = self
            .write_then(
                move |c| {
                    let mut added = Vec::new();
                    let answers = insert_documents(c, &inner.atol_tail, &inner.atol_intake, &docs, &mut added);
                    if answers.is_err() {
                        inner.atol_intake.remove(&added);
                    }
                    Ok((answers?, added))
                },
                move |committed, (_, added): &(Vec<AtolInsert>, Vec<IntakeKey>)| {
                    if !committed {
                        undo.atol_intake.remove(added);
                    }
                },
            )
            .await?;
        Ok(answers)
    }

    async fn atol_external_id(&self, tenant_id: &str, group_code: &str, external_id: &str)
        -> StoreResult<Option<(String, String)>> {
        let (t, g, e, inner) = (tenant_id.to_owned(), group_code.to_owned(), external_id.to_owned(), self.inner.clone());
        self.read_point(move |c| external_of(c, &inner.atol_intake, &t, &g, &e)).await
    }

    async fn atol_document(&self, tenant_id: &str, group_code: &str, uuid: &str) -> StoreResult<Option<AtolDocumentRow>> {
        let (t, g, u, inner) = (tenant_id.to_owned(), group_code.to_owned(), uuid.to_owned(), self.inner.clone());
        self.read_point(move |c| {
            let at = Location::find(c, &inner.atol_intake, &u)?;
            let sql = format!("SELECT {DOC_COLUMNS} FROM {} WHERE {} AND tenant_id = ?2 AND group_code = ?3", at.table, at.key(1, 4));
            if let Some(d) = query(c, &sql, params![u, t, g, at.rowid], doc_row)?.pop() {
                return Ok(Some(d));
            }
            // Folded since it was located.
            let sql = format!("SELECT {DOC_COLUMNS} FROM atol_documents WHERE uuid = ?1 AND tenant_id = ?2 AND group_code = ?3");
            Ok(query(c, &sql, params![u, t, g], doc_row)?.pop())
        })
        .await
    }

    async fn atol_documents(&self, filter: &AtolFilter) -> StoreResult<Vec<AtolDocumentRow>> {
        let f = filter.clone();
        self.read(move |c| {
            // The log holds the newest documents; one read transaction sees no fold half done.
            let tx = c.unchecked_transaction().map_err(db_err)?;
            let mut rows = filtered(&tx, "atol_intake", DOC_COLUMNS, &f, doc_row)?;
            let rest = AtolFilter { limit: f.limit - rows.len() as i64, ..f };
            if rest.limit > 0 {
                rows.extend(filtered(&tx, "atol_documents", DOC_COLUMNS, &rest, doc_row)?);
            }
            Ok(rows)
        })
        .await
    }

    async fn atol_queue(&self, tenant_id: &str, group_code: &str, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        let (t, g) = (tenant_id.to_owned(), group_code.to_owned());
        self.read(move |c| {
            let sql = both("tenant_id = ?1 AND group_code = ?2 AND state = 'queued'", "queue_seq", "?3");
            query(c, &sql, params![t, g, limit], doc_row)
        })
        .await
    }

    async fn atol_queued_groups(&self, cap: i64) -> StoreResult<Vec<(String, String, i64)>> {
        // A skip scan over the queue index: one seek per group, then a count that stops at `cap`,
        // so a long backlog costs the dispatcher no more than a short one.
        // The log and the folded table each answer; their counts add up (capped again).
        self.read(move |c| {
            let tx = c.unchecked_transaction().map_err(db_err)?;
            let mut groups = std::collections::BTreeMap::<(String, String), i64>::new();
            for table in ["atol_intake", "atol_documents"] {
                for (key, n) in queued_groups(&tx, table, cap)? {
                    let total = groups.entry(key).or_default();
                    *total = (*total + n).min(cap);
                }
            }
            Ok(groups.into_iter().map(|((t, g), n)| (t, g, n)).collect())
        })
        .await
    }

    async fn atol_queued_before(&self, cutoff_ms: i64, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        self.read(move |c| {
            let sql = both("state = 'queued' AND queued_at <= ?1", "queued_at", "?2");
            query(c, &sql, params![cutoff_ms, limit], doc_row)
        })
        .await
    }

    async fn atol_in_progress(&self, limit: i64) -> StoreResult<Vec<AtolDocumentRow>> {
        self.read(move |c| {
            let sql = both("state = 'in_progress'", "updated_at", "?1");
            query(c, &sql, params![limit], doc_row)
        })
        .await
    }

    async fn atol_transition(&self, ts: &[AtolTransition]) -> StoreResult<Vec<bool>> {
        let (ts, inner) = (ts.to_vec(), self.inner.clone());
        self.write(move |c| transition(c, &inner.atol_tail, &inner.atol_intake, &ts)).await
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
        self.read(move |c| filtered(c, "atol_callbacks", CB_COLUMNS, &f, cb_row)).await
    }
}


#[cfg(test)]
mod tests {
    use super::KeyMap;

    #[test]
    fn key_map_keeps_every_rowid_of_a_colliding_hash() {
        let mut m = KeyMap::default();
        m.insert(7, 1);
        m.insert(7, 2);
        m.insert(7, 3);
        m.insert(8, 4);
        assert_eq!(m.hits(7), [1, 2, 3]);
        assert_eq!(m.len(), 4);
        m.remove(7, 1);
        let mut left = m.hits(7);
        left.sort_unstable();
        assert_eq!(left, [2, 3]);
        m.remove(7, 3);
        assert_eq!(m.hits(7), [2]);
        m.remove(7, 2);
        assert!(m.hits(7).is_empty());
        assert_eq!(m.hits(8), [4]);
        assert_eq!(m.len(), 1);
    }
}
