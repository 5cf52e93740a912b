//! Frontol loyalty tables (LoyaltyStore).

use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use kassa_domain::loyalty::ledger::{Account, EntryKind};
use kassa_domain::loyalty::wire::ClientKey;
use kassa_domain::provisioning::LoyaltyRule;
use kassa_money::Money;
use kassa_store::loyalty::*;
use kassa_store::{RuleRow, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const CLIENT_COLS: &str =
    "id, name, phone, email, blocked, requires_validation, balance_minor, held_minor, version";
const DOC_COLS: &str =
    "uid, doc_type, client_id, fingerprint, state, reference_uid, response, data, flagged, created_at";
const HOLD_COLS: &str = "id, uid, client_id, amount_minor, fingerprint, response, state, created_at";
const AUDIT_COLS: &str = "id, received_at, path, action, uid, request, code, response, flagged, note";

fn client_row(r: &Row) -> rusqlite::Result<ClientState> {
    Ok(ClientState {
        client: ClientRow {
            id: r.get(0)?,
            name: r.get(1)?,
            phone: r.get(2)?,
            email: r.get(3)?,
            blocked: r.get(4)?,
            requires_validation: r.get(5)?,
            cards: Vec::new(),
        },
        account: Account {
            balance: Money::from_minor(r.get(6)?),
            held: Money::from_minor(r.get(7)?),
            pending: Money::ZERO,
        },
        version: r.get(8)?,
    })
}

fn doc_row(r: &Row) -> rusqlite::Result<DocRow> {
    Ok(DocRow {
        uid: r.get(0)?,
        doc_type: r.get(1)?,
        client_id: r.get(2)?,
        fingerprint: r.get(3)?,
        state: r.get(4)?,
        reference_uid: r.get(5)?,
        response: r.get(6)?,
        data: r.get(7)?,
        flagged: r.get(8)?,
        created_at_ms: r.get(9)?,
    })
}

fn hold_row(r: &Row) -> rusqlite::Result<HoldRow> {
    Ok(HoldRow {
        id: r.get(0)?,
        uid: r.get(1)?,
        client_id: r.get(2)?,
        amount: Money::from_minor(r.get(3)?),
        fingerprint: r.get(4)?,
        response: r.get(5)?,
        state: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

fn audit_row(r: &Row) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: r.get(0)?,
        received_at_ms: r.get(1)?,
        path: r.get(2)?,
        action: r.get(3)?,
        uid: r.get(4)?,
        request: r.get(5)?,
        code: r.get(6)?,
        response: r.get(7)?,
        flagged: r.get(8)?,
        note: r.get(9)?,
    })
}

/// Fills in the cards and the not-yet-active accruals of a client read by `client_row`.
fn complete(c: &Connection, tenant: &str, mut s: ClientState, now_ms: i64) -> StoreResult<ClientState> {
    // Hot-path reads sort in Rust. (An ORDER BY once cost ten times more per call: SQLite
    // compiled such statements again for every binding until `tune` in lib.rs turned that off.)
    let mut st = c.prepare_cached("SELECT card FROM loyalty_cards WHERE tenant_id = ?1 AND client_id = ?2").map_err(db_err)?;
    let mut cards: Vec<String> =
        st.query_map(params![tenant, s.client.id], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
    cards.sort_unstable();
    s.client.cards = cards;
    let pending: i64 = c
        .prepare_cached(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM loyalty_entries
             WHERE tenant_id = ?1 AND client_id = ?2 AND kind = 'accrual' AND available_at > ?3",
        )
        .map_err(db_err)?
        .query_row(params![tenant, s.client.id, now_ms], |r| r.get(0))
        .map_err(db_err)?;
    s.account.pending = Money::from_minor(pending);
    Ok(s)
}

fn client_by_id(c: &Connection, tenant: &str, id: &str, now_ms: i64) -> StoreResult<Option<ClientState>> {
    let s = c
        .prepare_cached(&format!("SELECT {CLIENT_COLS} FROM loyalty_clients WHERE tenant_id = ?1 AND id = ?2"))
        .map_err(db_err)?
        .query_row(params![tenant, id], client_row)
        .optional()
        .map_err(db_err)?;
    s.map(|s| complete(c, tenant, s, now_ms)).transpose()
}

fn client_by_key(c: &Connection, tenant: &str, key: &ClientKey, now_ms: i64) -> StoreResult<Option<ClientState>> {
    let id: Option<String> = match key {
        ClientKey::Card(card) => c
            .prepare_cached("SELECT client_id FROM loyalty_cards WHERE tenant_id = ?1 AND card = ?2")
            .map_err(db_err)?
            .query_row(params![tenant, card], |r| r.get(0))
            .optional()
            .map_err(db_err)?,
        ClientKey::Phone(phone) => c
            .prepare_cached("SELECT id FROM loyalty_clients WHERE tenant_id = ?1 AND phone = ?2")
            .map_err(db_err)?
            .query_row(params![tenant, phone], |r| r.get(0))
            .optional()
            .map_err(db_err)?,
    };
    match id {
        Some(id) => client_by_id(c, tenant, &id, now_ms),
        None => Ok(None),
    }
}

fn doc(c: &Connection, tenant: &str, uid: &str, doc_type: &str) -> StoreResult<Option<DocRow>> {
    c.prepare_cached(&format!("SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = ?1 AND uid = ?2 AND doc_type = ?3"))
        .map_err(db_err)?
        .query_row(params![tenant, uid, doc_type], doc_row)
        .optional()
        .map_err(db_err)
}

fn rules(c: &Connection, tenant: &str) -> StoreResult<Vec<LoyaltyRule>> {
    let mut st = c
        .prepare_cached(
            "SELECT id, kind, target_kind, target, percent_bp, price_minor, hours FROM loyalty_rules
             WHERE tenant_id = ?1 AND active = 1",
        )
        .map_err(db_err)?;
    let mut rows: Vec<RuleRow> = st
        .query_map([tenant], |r| {
            Ok(RuleRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                target_kind: r.get(2)?,
                target: r.get(3)?,
                percent_bp: r.get(4)?,
                price_minor: r.get(5)?,
                hours: r.get(6)?,
                active: true,
            })
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    rows.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    rows.iter().map(RuleRow::to_rule).collect()
}

/// The tenant rules and the clients that snapshots read, kept between requests: this process
/// is the only one writing the database file. Every write that changes what a half holds moves
/// that half's generation on once its COMMIT has finished, and an entry is used only under the
/// generation that was current before it was read from the database — so no entry read before
/// a commit is used after that commit (reads stay as fresh as without the cache). Rules change
/// only with the tenant's provisioning; balances with every settled request, which must not
/// send the rules back to the database (loyalty-confirm read them on every request).
#[derive(Default)]
pub(crate) struct ReadCache {
    rules: Generational<HashMap<String, Vec<LoyaltyRule>>>,
    clients: Generational<HashMap<(String, ClientKey), ClientState>>,
}

#[derive(Default)]
struct Generational<M> {
    generation: AtomicU64,
    /// The entries and the generation they were read under.
    entries: Mutex<(u64, M)>,
}

impl<M: Default> Generational<M> {
    fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// `f` over the entries of `generation`, emptied when a newer one is seen; `None` for a
    /// reader that started before the current generation.
    fn with<R>(&self, generation: u64, f: impl FnOnce(&mut M) -> R) -> Option<R> {
        let mut e = self.entries.lock().ok()?;
        if e.0 < generation {
            *e = (generation, M::default());
        }
        (e.0 == generation).then(|| f(&mut e.1))
    }
}

/// Clients kept at most; past it the cache starts afresh (unknown cards are never kept).
const CACHED_CLIENTS: usize = 10_000;

impl ReadCache {
    /// After provisioning: rules, clients and cards may all have changed.
    pub(crate) fn invalidate(&self) {
        self.rules.invalidate();
        self.clients.invalidate();
    }

    /// After a write to clients, cards or balances.
    pub(crate) fn invalidate_clients(&self) {
        self.clients.invalidate();
    }
}

fn snapshot(
    c: &Connection,
    tenant: &str,
    q: &SnapshotQuery,
    cached_rules: Option<Vec<LoyaltyRule>>,
    cached_client: Option<ClientState>,
) -> StoreResult<Snapshot> {
    let mut s = Snapshot { rules: cached_rules.map_or_else(|| rules(c, tenant), Ok)?, ..Default::default() };
    if let Some(key) = &q.client {
        s.client = match cached_client {
            Some(client) => Some(client),
            None => client_by_key(c, tenant, key, q.now_ms)?,
        };
    }
    if let Some(uid) = &q.uid {
        if let Some(t) = &q.doc_type {
            s.doc = doc(c, tenant, uid, t)?;
        }
        let mut st = c
            .prepare_cached(&format!("SELECT {HOLD_COLS} FROM loyalty_holds WHERE tenant_id = ?1 AND uid = ?2"))
            .map_err(db_err)?;
        let mut holds: Vec<HoldRow> =
            st.query_map(params![tenant, uid], hold_row).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
        holds.sort_unstable_by_key(|h| h.id);
        s.holds = holds;
    }
    if let Some(r) = &q.reference_uid {
        s.sale = doc(c, tenant, r, "receipt")?;
    }
    if let Some(r) = &q.pending_refunds_of {
        let mut st = c
            .prepare_cached(&format!(
                "SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = ?1 AND reference_uid = ?2
                 AND doc_type = 'refundReceipt' AND state = 'pending'"
            ))
            .map_err(db_err)?;
        let mut refunds: Vec<DocRow> =
            st.query_map(params![tenant, r], doc_row).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
        refunds.sort_unstable_by(|a, b| (a.created_at_ms, &a.uid).cmp(&(b.created_at_ms, &b.uid)));
        s.pending_refunds = refunds;
    }
    if let Some((uid, phone)) = &q.code_for {
        s.code = c
            .prepare_cached(
                "SELECT code, expires_at FROM loyalty_codes WHERE tenant_id = ?1 AND uid = ?2 AND phone = ?3 AND expires_at > ?4",
            )
            .map_err(db_err)?
            .query_row(params![tenant, uid, phone, q.now_ms], |r| {
                Ok(ValidationCode { uid: uid.clone(), phone: phone.clone(), code: r.get(0)?, expires_at_ms: r.get(1)? })
            })
            .optional()
            .map_err(db_err)?;
    }
    Ok(s)
}

fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

fn commit(c: &Connection, tenant: &str, m: &Commit, now_ms: i64) -> StoreResult<i64> {
    for (client, version) in &m.versions {
        let current: Option<i64> = c
            .prepare_cached("SELECT version FROM loyalty_clients WHERE tenant_id = ?1 AND id = ?2")
            .map_err(db_err)?
            .query_row(params![tenant, client], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if current != Some(*version) {
            return Err(conflict(format!("client '{client}' changed meanwhile")));
        }
    }
    for (uid, t) in &m.expect_absent {
        if doc(c, tenant, uid, t)?.is_some() {
            return Err(conflict(format!("document {t} {uid} exists now")));
        }
    }
    if let Some((sale, n)) = &m.expect_pending_refunds {
        let count: i64 = c
            .prepare_cached(
                "SELECT count(*) FROM loyalty_documents WHERE tenant_id = ?1 AND reference_uid = ?2
                 AND doc_type = 'refundReceipt' AND state = 'pending'",
            )
            .map_err(db_err)?
            .query_row(params![tenant, sale], |r| r.get(0))
            .map_err(db_err)?;
        if count != *n {
            return Err(conflict(format!("pending refunds of {sale} changed")));
        }
    }
    for e in &m.entries {
        let (b, h) = e.effect();
        let n = c
            .prepare_cached(
                "UPDATE loyalty_clients SET balance_minor = balance_minor + ?3, held_minor = held_minor + ?4,
                 version = version + 1, updated_at = ?5 WHERE tenant_id = ?1 AND id = ?2",
            )
            .map_err(db_err)?
            .execute(params![tenant, e.client_id, b.minor(), h.minor(), now_ms])
            .map_err(db_err)?;
        if n != 1 {
            return Err(StoreError::NotFound(format!("loyalty client '{}'", e.client_id)));
        }
        c.prepare_cached(
            "INSERT INTO loyalty_entries (tenant_id, client_id, kind, amount_minor, balance_delta, held_delta,
             available_at, doc_uid, note, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db_err)?
        .execute(params![
            tenant,
            e.client_id,
            e.kind.as_str(),
            e.amount.minor(),
            b.minor(),
            h.minor(),
            e.available_at_ms,
            e.doc_uid,
            e.note,
            now_ms
        ])
        .map_err(db_err)?;
    }
    for h in &m.hold_changes {
        let n = c
            .prepare_cached("UPDATE loyalty_holds SET state = ?4, updated_at = ?5 WHERE tenant_id = ?1 AND id = ?2 AND state = ?3")
            .map_err(db_err)?
            .execute(params![tenant, h.id, h.from, h.to, now_ms])
            .map_err(db_err)?;
        if n != 1 {
            return Err(conflict(format!("reservation {} is no longer {}", h.id, h.from)));
        }
    }
    for h in &m.new_holds {
        c.prepare_cached(
            "INSERT INTO loyalty_holds (tenant_id, uid, client_id, amount_minor, fingerprint, response, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7)",
        )
        .map_err(db_err)?
        .execute(params![tenant, h.uid, h.client_id, h.amount.minor(), h.fingerprint, h.response, now_ms])
        .map_err(db_err)?;
    }
    for d in &m.docs {
        let r = &d.row;
        let base = params![tenant, r.uid, r.doc_type, r.client_id, r.fingerprint, r.state, r.reference_uid, r.response, r.data, r.flagged, now_ms];
        let n = if d.insert {
            c.prepare_cached(
                "INSERT INTO loyalty_documents (tenant_id, uid, doc_type, client_id, fingerprint, state, reference_uid, response,
                 data, flagged, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
            )
            .map_err(db_err)?
            .execute(base)
            .map_err(db_err)?
        } else {
            let mut p: Vec<&dyn rusqlite::ToSql> = base.to_vec();
            p.push(&d.expect_state);
            p.push(&d.expect_data);
            c.prepare_cached(
                "UPDATE loyalty_documents SET client_id = ?4, fingerprint = ?5, state = ?6, reference_uid = ?7, response = ?8,
                 data = ?9, flagged = ?10, updated_at = ?11 WHERE tenant_id = ?1 AND uid = ?2 AND doc_type = ?3
                 AND (?12 IS NULL OR state = ?12) AND (?13 IS NULL OR data = ?13)",
            )
            .map_err(db_err)?
            .execute(p.as_slice())
            .map_err(db_err)?
        };
        if n != 1 {
            return Err(conflict(format!("document {} {} not written", r.doc_type, r.uid)));
        }
    }
    if let Some(code) = &m.code {
        c.prepare_cached(
            "INSERT INTO loyalty_codes (tenant_id, uid, phone, code, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, uid, phone) DO UPDATE SET code = excluded.code, expires_at = excluded.expires_at",
        )
        .map_err(db_err)?
        .execute(params![tenant, code.uid, code.phone, code.code, code.expires_at_ms])
        .map_err(db_err)?;
    }
    let mut id = 0;
    if let Some(a) = &m.audit {
        c.prepare_cached(
            "INSERT INTO loyalty_audit (tenant_id, received_at, path, action, uid, request, code, response, flagged, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db_err)?
        .execute(params![tenant, a.received_at_ms, a.path, a.action, a.uid, a.request, a.code, a.response, a.flagged, a.note])
        .map_err(db_err)?;
        id = c.last_insert_rowid();
    }
    Ok(id)
}

fn put_client(c: &Connection, tenant: &str, cl: &ClientRow, now_ms: i64) -> StoreResult<bool> {
    let existed = c
        .query_row("SELECT 1 FROM loyalty_clients WHERE tenant_id = ?1 AND id = ?2", params![tenant, cl.id], |_| Ok(()))
        .optional()
        .map_err(db_err)?
        .is_some();
    c.execute(
        "INSERT INTO loyalty_clients (tenant_id, id, name, phone, email, blocked, requires_validation, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, phone = excluded.phone, email = excluded.email,
         blocked = excluded.blocked, requires_validation = excluded.requires_validation, updated_at = excluded.updated_at",
        params![tenant, cl.id, cl.name, cl.phone, cl.email, cl.blocked, cl.requires_validation, now_ms],
    )
    .map_err(db_err)?;
    c.execute("DELETE FROM loyalty_cards WHERE tenant_id = ?1 AND client_id = ?2", params![tenant, cl.id]).map_err(db_err)?;
    for card in &cl.cards {
        c.execute("INSERT INTO loyalty_cards (tenant_id, card, client_id) VALUES (?1, ?2, ?3)", params![tenant, card, cl.id])
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => conflict(format!("card '{card}' belongs to another client")),
                other => other,
            })?;
    }
    Ok(!existed)
}

fn check_ledger(c: &Connection, tenant: &str) -> StoreResult<Vec<String>> {
    let mut st = c
        .prepare(
            "SELECT cl.id, cl.balance_minor, cl.held_minor,
                (SELECT COALESCE(SUM(balance_delta), 0) FROM loyalty_entries e WHERE e.tenant_id = cl.tenant_id AND e.client_id = cl.id),
                (SELECT COALESCE(SUM(held_delta), 0) FROM loyalty_entries e WHERE e.tenant_id = cl.tenant_id AND e.client_id = cl.id),
                (SELECT COALESCE(SUM(amount_minor), 0) FROM loyalty_holds h WHERE h.tenant_id = cl.tenant_id AND h.client_id = cl.id AND h.state = 'active')
             FROM loyalty_clients cl WHERE cl.tenant_id = ?1 ORDER BY cl.id",
        )
        .map_err(db_err)?;
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = st
        .query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(|(id, b, h, sb, sh, act)| ledger_problem(&id, b, h, sb, sh, act)).collect())
}

/// Describes a client whose running sums disagree with its entries or reservations.
pub(crate) fn ledger_problem(id: &str, b: i64, h: i64, sum_b: i64, sum_h: i64, active: i64) -> Option<String> {
    (b != sum_b || h != sum_h || h != active)
        .then(|| format!("client {id}: balance {b} vs entries {sum_b}, held {h} vs entries {sum_h} vs active reservations {active}"))
}

#[async_trait]
impl LoyaltyStore for SqliteStore {
    async fn loyalty_tenants(&self) -> StoreResult<Vec<LoyaltyTenant>> {
        self.read(|c| {
            let mut st = c
                .prepare_cached(
                    "SELECT t.id, (SELECT secret FROM credentials k WHERE k.tenant_id = t.id AND k.face = 'loyalty' AND k.active = 1)
                     FROM tenants t WHERE EXISTS (SELECT 1 FROM credentials k WHERE k.tenant_id = t.id AND k.face = 'loyalty' AND k.active = 1)
                        OR EXISTS (SELECT 1 FROM loyalty_rules r WHERE r.tenant_id = t.id AND r.active = 1)
                     ORDER BY t.id",
                )
                .map_err(db_err)?;
            st.query_map([], |r| Ok(LoyaltyTenant { tenant_id: r.get(0)?, access_key: r.get(1)? }))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }

    async fn loyalty_snapshot(&self, tenant: &str, q: &SnapshotQuery) -> StoreResult<Snapshot> {
        let cache = &self.inner.loyalty_cache;
        // Before the database is read: see ReadCache.
        let (rules_gen, clients_gen) = (cache.rules.current(), cache.clients.current());
        let rules = cache.rules.with(rules_gen, |m| m.get(tenant).cloned()).flatten();
        let client_key = q.client.as_ref().map(|k| (tenant.to_owned(), k.clone()));
        let client = client_key.as_ref().and_then(|k| cache.clients.with(clients_gen, |m| m.get(k).cloned()).flatten());
        let (rules_cached, client_cached) = (rules.is_some(), client.is_some());
        let (t, query) = (tenant.to_owned(), q.clone());
        let s = self.read_point(move |c| snapshot(c, &t, &query, rules, client)).await?;
        if !rules_cached {
            cache.rules.with(rules_gen, |m| {
                m.entry(tenant.to_owned()).or_insert_with(|| s.rules.clone());
            });
        }
        // A client with accruals still to activate changes with the clock: read it every time.
        if let (false, Some(key), Some(c)) = (client_cached, client_key, &s.client)
            && c.account.pending == Money::ZERO
        {
            cache.clients.with(clients_gen, |m| {
                if m.len() >= CACHED_CLIENTS {
                    m.clear();
                }
                m.insert(key, c.clone());
            });
        }
        Ok(s)
    }

    async fn loyalty_commit(&self, tenant: &str, m: &Commit, now_ms: i64) -> StoreResult<i64> {
        let (tenant, m, cache) = (tenant.to_owned(), m.clone(), self.inner.loyalty_cache.clone());
        // Ledger entries change balances; anything else in a commit leaves rules and clients be.
        let changes_clients = !m.entries.is_empty();
        self.write_then(move |c| commit(c, &tenant, &m, now_ms), move |_, _| {
            if changes_clients {
                cache.invalidate_clients();
            }
        })
        .await
    }

    async fn loyalty_put_client(&self, tenant: &str, client: &ClientRow, now_ms: i64) -> StoreResult<bool> {
        let (tenant, client, cache) = (tenant.to_owned(), client.clone(), self.inner.loyalty_cache.clone());
        self.write_then(move |c| put_client(c, &tenant, &client, now_ms), move |_, _| cache.invalidate_clients()).await
    }

    async fn loyalty_client(&self, tenant: &str, id: &str, now_ms: i64) -> StoreResult<Option<ClientState>> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |c| client_by_id(c, &tenant, &id, now_ms)).await
    }

    async fn loyalty_clients(&self, tenant: &str, after_id: Option<&str>, limit: u32, now_ms: i64) -> StoreResult<Vec<ClientState>> {
        let (tenant, after) = (tenant.to_owned(), after_id.unwrap_or("").to_owned());
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {CLIENT_COLS} FROM loyalty_clients WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))
                .map_err(db_err)?;
            let rows: Vec<ClientState> =
                st.query_map(params![tenant, after, limit], client_row).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
            rows.into_iter().map(|s| complete(c, &tenant, s, now_ms)).collect()
        })
        .await
    }

    async fn loyalty_entries(&self, tenant: &str, client_id: Option<&str>, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<EntryRow>> {
        let (tenant, client) = (tenant.to_owned(), client_id.map(str::to_owned));
        let before = before_seq.unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT seq, client_id, kind, amount_minor, balance_delta, held_delta, available_at, doc_uid, note, created_at
                     FROM loyalty_entries WHERE tenant_id = ?1 AND (?2 IS NULL OR client_id = ?2) AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![tenant, client, before, limit], |r| {
                    let kind: String = r.get(2)?;
                    Ok((kind, EntryRow {
                        seq: r.get(0)?,
                        client_id: r.get(1)?,
                        kind: EntryKind::Accrual,
                        amount: Money::from_minor(r.get(3)?),
                        balance_delta: Money::from_minor(r.get(4)?),
                        held_delta: Money::from_minor(r.get(5)?),
                        available_at_ms: r.get(6)?,
                        doc_uid: r.get(7)?,
                        note: r.get(8)?,
                        created_at_ms: r.get(9)?,
                    }))
                })
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.into_iter()
                .map(|(kind, mut e)| {
                    e.kind = EntryKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("ledger entry kind '{kind}'")))?;
                    Ok(e)
                })
                .collect()
        })
        .await
    }

    async fn loyalty_audit(&self, tenant: &str, f: &AuditFilter) -> StoreResult<Vec<AuditRecord>> {
        let (tenant, f) = (tenant.to_owned(), f.clone());
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLS} FROM loyalty_audit WHERE tenant_id = ?1 AND id < ?2 AND (?3 = 0 OR flagged = 1)
                     AND (?4 IS NULL OR uid = ?4) ORDER BY id DESC LIMIT ?5"
                ))
                .map_err(db_err)?;
            st.query_map(params![tenant, f.before_id.unwrap_or(i64::MAX), f.flagged_only, f.uid, f.limit], audit_row)
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }

    async fn loyalty_audit_record(&self, tenant: &str, id: i64) -> StoreResult<Option<AuditRecord>> {
        let tenant = tenant.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {AUDIT_COLS} FROM loyalty_audit WHERE tenant_id = ?1 AND id = ?2"))
                .map_err(db_err)?
                .query_row(params![tenant, id], audit_row)
                .optional()
                .map_err(db_err)
        })
        .await
    }

    async fn loyalty_documents(&self, tenant: &str, limit: u32) -> StoreResult<Vec<DocRow>> {
        let tenant = tenant.to_owned();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = ?1 ORDER BY created_at DESC, uid LIMIT ?2"
                ))
                .map_err(db_err)?;
            st.query_map(params![tenant, limit], doc_row).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
        })
        .await
    }

    async fn loyalty_stale_holds(&self, before_ms: i64, limit: u32) -> StoreResult<Vec<(String, HoldRow)>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT tenant_id, {HOLD_COLS} FROM loyalty_holds WHERE state = 'active' AND created_at < ?1
                     ORDER BY created_at, id LIMIT ?2"
                ))
                .map_err(db_err)?;
            st.query_map(params![before_ms, limit], |r| {
                Ok((
                    r.get(0)?,
                    HoldRow {
                        id: r.get(1)?,
                        uid: r.get(2)?,
                        client_id: r.get(3)?,
                        amount: Money::from_minor(r.get(4)?),
                        fingerprint: r.get(5)?,
                        response: r.get(6)?,
                        state: r.get(7)?,
                        created_at_ms: r.get(8)?,
                    },
                ))
            })
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)
        })
        .await
    }

    async fn loyalty_check_ledger(&self, tenant: &str) -> StoreResult<Vec<String>> {
        let tenant = tenant.to_owned();
        self.read(move |c| check_ledger(c, &tenant)).await
    }
}
