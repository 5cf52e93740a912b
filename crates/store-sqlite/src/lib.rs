//! SQLite backend of the Kassa store (the embedded default).
//!
//! Owns the SQLite schema (`migrations/`), the connection settings and the [`Store`]
//! implementation. Durability: WAL journal with `synchronous=FULL`, so a committed transaction
//! survives a process kill and a power cut.
//!
//! Concurrency: SQLite has one writer at a time, so this adapter has exactly one writer
//! connection, owned by a dedicated thread. Write calls are queued to it; the thread takes every
//! call waiting at that moment into one `BEGIN IMMEDIATE … COMMIT` (group commit), each call in
//! its own savepoint so a failing call rolls back alone. A caller hears `Ok` only after the
//! shared COMMIT returned: one fsync serves many callers without acknowledging anything early.
//! Reads use a small pool of read-only connections, which WAL lets run beside the writer.
//!
//! May depend on `kassa-store`, `kassa-domain`, rusqlite and tokio.

mod atol;
mod events;
mod fiscal;
mod loyalty;
mod provisioning;

use async_trait::async_trait;
use kassa_domain::provisioning::TenantSpec;
use kassa_store::migrate::{Migration, pending};
use kassa_store::{
    ApplyReport, Backend, Credential, Face, Store, StoreError, StoreResult, TenantSummary, TenantView,
};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc, oneshot};

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "provisioning", sql: include_str!("../migrations/0001_provisioning.sql") },
    Migration { version: 2, name: "fiscal", sql: include_str!("../migrations/0002_fiscal.sql") },
    Migration { version: 3, name: "atol", sql: include_str!("../migrations/0003_atol.sql") },
    Migration { version: 4, name: "loyalty", sql: include_str!("../migrations/0004_loyalty.sql") },
    Migration { version: 5, name: "events", sql: include_str!("../migrations/0005_events.sql") },
    Migration { version: 6, name: "atol_intake", sql: include_str!("../migrations/0006_atol_intake.sql") },
    Migration { version: 7, name: "loyalty_audit", sql: include_str!("../migrations/0007_loyalty_audit.sql") },
    Migration { version: 8, name: "loyalty_documents_ref", sql: include_str!("../migrations/0008_loyalty_documents_ref.sql") },
];

/// Most calls one group commit takes; bounds the latency of the first caller in a batch.
const MAX_BATCH: usize = 512;
/// Calls that may wait for the writer before callers are slowed down (back-pressure).
const QUEUE_DEPTH: usize = 8_192;
const READERS: usize = 4;
/// The ATOL acceptance log is folded when the writer has had nothing to do for this long ...
const FOLD_WHEN_IDLE: std::time::Duration = std::time::Duration::from_millis(20);
/// ... or, a chunk after every group commit, while it holds more rows than this (its keys take
/// about 50 bytes of memory per row).
const INTAKE_HIGH: usize = 1_000_000;
/// Rows per fold transaction: large enough that the indexes take many keys per page written,
/// small enough that a request arriving meanwhile waits only milliseconds.
const FOLD_ROWS: i64 = 2_048;

type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// One write call: runs inside its savepoint (or, given `Err`, does not run at all), says whether
/// it succeeded, and returns what to do once the shared COMMIT has finished.
type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) -> (bool, Completion) + Send>;

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    reader_slots: Semaphore,
    atol_tail: atol::QueueTail,
    atol_intake: Arc<atol::Intake>,
    loyalty_cache: Arc<loyalty::ReadCache>,
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::ConstraintViolation) => StoreError::Conflict(e.to_string()),
        Some(C::DiskFull | C::CannotOpen | C::ReadOnly | C::SystemIoFailure | C::DatabaseBusy | C::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt(e.to_string()),
        None if matches!(e, rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..)) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// Prepared statements kept per connection: every context's statements stay prepared (the
/// default of 16 makes the contexts evict each other and re-prepare on every call).
const STATEMENT_CACHE: usize = 256;

/// Settings of every connection, the writer's and the readers'.
fn tune(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner stability guarantee: plans never depend on bound values. Without it
    // this SQLite build (STAT4) marks the plan of any statement that is not a single-table
    // lookup — a join, an ORDER BY — as depending on its parameters, and compiles the statement
    // again on every execution with new bindings: in atol-e2e the fiscal register read (a
    // LEFT JOIN) alone was 30% of the writer. Kassa's statements are written to need no
    // value-dependent plan (no partial index is chosen by a bound value).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    tune(conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!("journal_mode is {mode}, not wal")));
    }
    // 8 MiB of page cache per connection (default 2 MiB): fewer misses, each a read system call
    // in the single writer. Not more: a B-tree page split parks a page at the lock-byte page
    // number (balance_nonroot → sqlite3PcacheMove), far past the end of the database, so the
    // COMMIT after it truncates the cache by walking its whole hash table. With a 64 MiB cache
    // that walk was up to 16% of the writer; 8 MiB measured best for atol-sell and the same as
    // 64 MiB for the fiscal bench.
    // Temporary files in memory: every write call runs in its own savepoint, so SQLite copies
    // each page a call touches into the transaction's sub-journal; past 64 KiB that journal
    // spilled to a temporary file, which was most of the writer's `pwrite` calls (loyalty-confirm:
    // 634k in 4 s before, 272k after). atol-sell measured 24.7–26.0k req/s against 21.2–22.1k.
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;",
    )?;
    Ok(())
}

/// The background checkpointer is woken every this many new WAL frames (4 MiB) ...
const WAL_NUDGE_FRAMES: i32 = 1_000;
/// ... and past this many (32 MiB) the writer finishes the checkpoint itself after a commit,
/// so that its next transaction starts the log again from the beginning.
const WAL_RESTART_FRAMES: i32 = 8_000;

/// Copies the WAL back into the database on a thread of its own, with its own connection.
///
/// SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, so the
/// writer stopped for the copy of every page and the fsync of the database file while every
/// caller waited: a seventh of the writer in loyalty-confirm, and its p99. Here the writer's
/// WAL hook only nudges the checkpointer (a PASSIVE checkpoint never blocks the writer) and,
/// once the log is long, finishes the few frames left itself: a log is only restarted after a
/// checkpoint that reached its end, which a concurrent one rarely does under load.
/// Measured (stop 12, interleaved): p99 of loyalty-confirm 18–20 → 9–10 ms and of the demo
/// atol-sell 19–20 → 9 ms; requests per second the same within the noise.
fn checkpoint_in_background(writer: &mut Connection, path: &Path) -> StoreResult<std::thread::JoinHandle<()>> {
    use rusqlite::wal::CheckpointMode::PASSIVE;
    let conn = Connection::open(path).map_err(db_err)?;
    tune(&conn).map_err(db_err)?;
    // Until it has read the database a connection does not know it is in WAL mode, and its
    // checkpoints do nothing.
    conn.query_row("PRAGMA journal_mode", [], |_| Ok(())).map_err(db_err)?;
    let (nudge, nudged) = std::sync::mpsc::sync_channel::<()>(1);
    let mut nudged_at = 0;
    writer
        .wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
            if frames < nudged_at {
                nudged_at = 0; // the log started again
            }
            if frames >= WAL_RESTART_FRAMES {
                // Busy while the checkpointer runs: the next commit tries again.
                let _ = wal.checkpoint_v2(PASSIVE);
            } else if frames - nudged_at >= WAL_NUDGE_FRAMES {
                nudged_at = frames;
                let _ = nudge.try_send(());
            }
            Ok(())
        }))
        .map_err(db_err)?;
    std::thread::Builder::new()
        .name("kassa-sqlite-ckpt".into())
        .spawn(move || {
            // Ends when the writer's connection, which holds the hook, is closed.
            while nudged.recv().is_ok() {
                if let Err(e) = conn.wal_checkpoint_v2(None::<&str>, PASSIVE) {
                    tracing::warn!(error = %e, "background WAL checkpoint failed; the writer will checkpoint");
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite checkpoint thread: {e}")))
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS kassa_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(db_err)?;
    let applied: Vec<(i64, String)> = {
        let mut st = conn.prepare("SELECT version, checksum FROM kassa_migrations ORDER BY version").map_err(db_err)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?
    };
    for m in pending(MIGRATIONS, &applied).map_err(StoreError::Corrupt)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
        tx.execute_batch(m.sql).map_err(db_err)?;
        tx.execute(
            "INSERT INTO kassa_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, unixepoch() * 1000)",
            rusqlite::params![m.version, m.name, m.checksum()],
        )
        .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(version = m.version, name = m.name, "applied SQLite migration");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = Connection::open(path).map_err(|e| {
            StoreError::Unavailable(format!("cannot open SQLite database {}: {e}", path.display()))
        })?;
        configure(&writer).map_err(db_err)?;
        migrate(&mut writer)?;
        let atol_tail = atol::QueueTail::load(&writer)?;
        let atol_intake = Arc::new(atol::Intake::load(&writer)?);
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(db_err)?;
            tune(&r).map_err(db_err)?;
            readers.push(r);
        }
        let checkpointer = checkpoint_in_background(&mut writer, path)?;
        let (tx, rx) = mpsc::channel::<Job>(QUEUE_DEPTH);
        let intake = atol_intake.clone();
        let thread = std::thread::Builder::new()
            .name("kassa-sqlite-writer".into())
            .spawn(move || {
                writer_loop(writer, rx, &intake);
                let _ = checkpointer.join();
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(Some(tx)),
                writer_thread: Mutex::new(Some(thread)),
                readers: Mutex::new(readers),
                reader_slots: Semaphore::new(READERS),
                atol_tail,
                atol_intake,
                loyalty_cache: Arc::default(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// ATOL documents accepted into the log and not yet folded into their indexed table.
    pub fn atol_unfolded(&self) -> usize {
        self.inner.atol_intake.len()
    }

    /// Runs `f` in its own savepoint inside the next group commit; returns once it is durable.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_then(f, |_, _| ()).await
    }

    /// [`write`](Self::write) for a call that also keeps state in memory. When `f` succeeded,
    /// `then(committed, &result)` runs on the writer thread once the shared COMMIT has finished,
    /// whether or not the caller still waits: to take that state back if the COMMIT failed, or
    /// to drop cached reads the call made stale.
    async fn write_then<T, F, U>(&self, f: F, then: U) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
        U: FnOnce(bool, &T) + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = conn.and_then(|conn| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::Unavailable("a store write panicked".into())))
            });
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit| {
                if let Ok(value) = &result {
                    then(commit.is_ok(), value);
                }
                let _ = tx.send(commit.and(result));
            });
            (ok, done)
        });
        let sender = self.inner.writer.lock().map_err(|_| closed())?.clone().ok_or_else(closed)?;
        sender.send(job).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Runs a point read (a few rows found by key, e.g. a token, a document by uuid, a client's
    /// snapshot) on the calling thread: it takes microseconds from the page cache, less than a
    /// hop to the blocking pool and back. When every read connection is busy it queues like
    /// [`read`](Self::read). Scans and listings use `read`.
    pub async fn read_point<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let Ok(_permit) = self.inner.reader_slots.try_acquire() else { return self.read(f).await };
        self.inner.with_reader(f)
    }

    /// Runs `f` on a read-only connection in the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self.inner.reader_slots.acquire().await.map_err(|_| closed())?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.with_reader(f))
            .await
            .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
    }
}

impl Inner {
    /// Runs `f` on a connection taken from the pool; the caller holds a `reader_slots` permit,
    /// which guarantees that one is free.
    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.readers.lock().map_err(|_| closed())?.pop().ok_or_else(closed)?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&conn)))
            .unwrap_or_else(|_| Err(StoreError::Unavailable("a store read panicked".into())));
        self.readers.lock().map_err(|_| closed())?.push(conn);
        result
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

fn writer_loop(conn: Connection, mut rx: mpsc::Receiver<Job>, intake: &atol::Intake) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // A timer to notice idleness; without one the log is folded only past INTAKE_HIGH.
    let timer = tokio::runtime::Builder::new_current_thread().enable_time().build().ok();
    let mut fold_paused_until = std::time::Instant::now();
    let mut fold = |conn: &Connection| {
        if std::time::Instant::now() < fold_paused_until {
            return;
        }
        if let Err(e) = atol::fold(conn, intake, FOLD_ROWS) {
            // Nothing is lost (the log stays); try again later rather than on every call.
            tracing::error!(error = %e, "folding the ATOL acceptance log failed; retrying in 10 s");
            fold_paused_until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        }
    };
    loop {
        let first = match (&timer, intake.len()) {
            (Some(timer), 1..) => match timer.block_on(async { tokio::time::timeout(FOLD_WHEN_IDLE, rx.recv()).await }) {
                Ok(job) => job,
                Err(_idle) => {
                    fold(&conn);
                    continue;
                }
            },
            _ => rx.blocking_recv(),
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&conn, &mut batch);
        if intake.len() > INTAKE_HIGH {
            fold(&conn);
        }
    }
    // All senders are gone: fold the WAL back into the database so the files are tidy at rest.
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(error = %e, "final WAL checkpoint failed; SQLite will recover it on next open");
    }
}

fn run_batch(conn: &Connection, batch: &mut Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = db_err(e);
        tracing::error!(error = %err, "could not begin a write transaction");
        for job in batch.drain(..) {
            let (_, done) = job(Err(err.clone()));
            done(Ok(()));
        }
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        // Prepared once per connection: the writer runs these for every job.
        if let Err(e) = conn.prepare_cached("SAVEPOINT job").and_then(|mut st| st.execute([])) {
            let (_, done) = job(Err(db_err(e)));
            completions.push(done);
            continue;
        }
        let (ok, done) = job(Ok(conn));
        let end = if ok {
            conn.prepare_cached("RELEASE job").and_then(|mut st| st.execute([])).map(|_| ())
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            tracing::error!(error = %e, "savepoint end failed");
        }
        completions.push(done);
    }
    let commit = conn.execute_batch("COMMIT").map_err(db_err);
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for done in completions {
        done(commit.clone());
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| c.query_row("SELECT count(*) FROM kassa_migrations", [], |_| Ok(())).map_err(db_err))
            .await
    }

    async fn close(&self) {
        let sender = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        drop(sender);
        let thread = self.inner.writer_thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Ok(mut readers) = self.inner.readers.lock() {
            readers.clear();
        }
        self.inner.reader_slots.close();
    }

    async fn apply_tenant(&self, spec: &TenantSpec, now_ms: i64) -> StoreResult<ApplyReport> {
        let (spec, cache) = (spec.clone(), self.inner.loyalty_cache.clone());
        self.write_then(move |c| provisioning::apply_tenant(c, &spec, now_ms), move |_, _| cache.invalidate()).await
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<TenantView>> {
        let id = id.to_owned();
        self.read(move |c| provisioning::tenant(c, &id)).await
    }

    async fn tenants(&self) -> StoreResult<Vec<TenantSummary>> {
        self.read(provisioning::tenants).await
    }

    async fn credential(&self, face: Face, lookup: &str) -> StoreResult<Option<Credential>> {
        let lookup = lookup.to_owned();
        self.read_point(move |c| provisioning::credential(c, face, &lookup)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A connection to a new database with every migration applied (the directory keeps it).
    fn migrated_connection() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        configure(&conn).unwrap();
        (dir, conn)
    }

    /// The bundled SQLite is built with the flags of `.cargo/config.toml` (`LIBSQLITE3_FLAGS`):
    /// `HAVE_FDATASYNC` (not listed by SQLite) comes in the same variable as these two.
    #[test]
    fn sqlite_is_built_with_the_workspace_flags() {
        let conn = Connection::open_in_memory().unwrap();
        let options: Vec<String> =
            conn.prepare("PRAGMA compile_options").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        for wanted in ["DEFAULT_MEMSTATUS=0", "USE_ALLOCA"] {
            assert!(options.iter().any(|o| o == wanted), "{wanted} not in {options:?}");
        }
    }

    /// Statements the writer runs for every document — a join, an ORDER BY … LIMIT — are
    /// compiled once, not again for each new binding (see `tune`).
    #[test]
    fn cached_statements_are_not_compiled_again_for_new_bindings() {
        let (_dir, conn) = migrated_connection();
        for sql in [
            "SELECT r.tenant_id, g.inn FROM registers r LEFT JOIN register_groups g
             ON g.tenant_id = r.tenant_id AND g.code = r.group_code WHERE r.id = ?1",
            "SELECT tenant_id, group_code FROM atol_intake WHERE state = 'queued' AND tenant_id = ?1
             AND group_code > ?2 ORDER BY tenant_id, group_code LIMIT 1",
            "SELECT seq FROM fiscal_journal WHERE register_id = ?1 AND pending = 1 ORDER BY seq LIMIT ?2",
        ] {
            for round in 0..4 {
                let mut st = conn.prepare_cached(sql).unwrap();
                let n = st.parameter_count();
                for i in 1..=n {
                    st.raw_bind_parameter(i, round * 10 + i as i64).unwrap();
                }
                let mut rows = st.raw_query();
                while rows.next().unwrap().is_some() {}
            }
            let st = conn.prepare_cached(sql).unwrap();
            assert_eq!(st.get_status(StatementStatus::RePrepare), 0, "{sql}");
        }
    }

    /// The refunds of a sale are found through the partial index of documents with a reference
    /// (migration 0008), for any bound value.
    #[test]
    fn refunds_of_a_sale_are_found_through_the_partial_index() {
        let (_dir, conn) = migrated_connection();
        for sql in [
            "SELECT uid FROM loyalty_documents WHERE tenant_id = ?1 AND reference_uid = ?2
             AND doc_type = 'refundReceipt' AND state = 'pending'",
            "SELECT count(*) FROM loyalty_documents WHERE tenant_id = ?1 AND reference_uid = ?2
             AND doc_type = 'refundReceipt' AND state = 'pending'",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(["demo", "sale-1"], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(plan.iter().any(|p| p.contains("INDEX loyalty_documents_ref")), "{sql}: {plan:?}");
        }
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::*;

    async fn insert_blobs(store: &SqliteStore, n: usize) {
        for _ in 0..n {
            store
                .write(|c| c.execute("INSERT INTO t VALUES (randomblob(100000))", []).map(drop).map_err(db_err))
                .await
                .unwrap();
        }
    }

    /// The checkpointer thread copies the WAL into the database while the writer goes on (the
    /// writer itself checkpoints only past WAL_RESTART_FRAMES), and the log stays bounded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_the_wal_and_the_log_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (db, wal) = (dir.path().join("k.db"), dir.path().join("k.db-wal"));
        let store = SqliteStore::open(&db).unwrap();
        store.write(|c| c.execute_batch("CREATE TABLE t (x BLOB)").map_err(db_err)).await.unwrap();
        // About 3,700 frames: past three nudges, short of the writer's own checkpoint.
        insert_blobs(&store, 150).await;
        let copied = async {
            while std::fs::metadata(&db).unwrap().len() < 8 << 20 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), copied).await.expect("no background checkpoint");
        insert_blobs(&store, 400).await;
        let len = std::fs::metadata(&wal).unwrap().len();
        assert!(len < 2 * 4096 * WAL_RESTART_FRAMES as u64, "WAL grew to {len} bytes");
        store.close().await;
    }
}
