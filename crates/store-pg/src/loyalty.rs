//! Frontol loyalty tables (LoyaltyStore). Same rows and checks as the SQLite backend; a
//! commit locks the client rows it depends on (`FOR UPDATE`) before checking their versions.

use crate::{PgStore, db_err};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use kassa_domain::loyalty::ledger::{Account, EntryKind};
use kassa_domain::loyalty::wire::ClientKey;
use kassa_money::Money;
use kassa_store::loyalty::*;
use kassa_store::{RuleRow, StoreError, StoreResult};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

const CLIENT_COLS: &str =
    "id, name, phone, email, blocked, requires_validation, balance_minor, held_minor, version";
const DOC_COLS: &str =
    "uid, doc_type, client_id, fingerprint, state, reference_uid, response, data, flagged, created_at";
const HOLD_COLS: &str = "id, uid, client_id, amount_minor, fingerprint, response, state, created_at";
const AUDIT_COLS: &str = "id, received_at, path, action, uid, request, code, response, flagged, note";

async fn query(c: &impl GenericClient, sql: &str, p: Params<'_>) -> StoreResult<Vec<Row>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query(&st, p).await.map_err(db_err)
}

async fn opt(c: &impl GenericClient, sql: &str, p: Params<'_>) -> StoreResult<Option<Row>> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.query_opt(&st, p).await.map_err(db_err)
}

async fn exec(c: &impl GenericClient, sql: &str, p: Params<'_>) -> StoreResult<u64> {
    let st = c.prepare_cached(sql).await.map_err(db_err)?;
    c.execute(&st, p).await.map_err(db_err)
}

fn client_row(r: &Row) -> ClientState {
    ClientState {
        client: ClientRow {
            id: r.get(0),
            name: r.get(1),
            phone: r.get(2),
            email: r.get(3),
            blocked: r.get(4),
            requires_validation: r.get(5),
            cards: Vec::new(),
        },
        account: Account { balance: Money::from_minor(r.get(6)), held: Money::from_minor(r.get(7)), pending: Money::ZERO },
        version: r.get(8),
    }
}

fn doc_row(r: &Row) -> DocRow {
    DocRow {
        uid: r.get(0),
        doc_type: r.get(1),
        client_id: r.get(2),
        fingerprint: r.get(3),
        state: r.get(4),
        reference_uid: r.get(5),
        response: r.get(6),
        data: r.get(7),
        flagged: r.get(8),
        created_at_ms: r.get(9),
    }
}

fn hold_row(r: &Row, o: usize) -> HoldRow {
    HoldRow {
        id: r.get(o),
        uid: r.get(o + 1),
        client_id: r.get(o + 2),
        amount: Money::from_minor(r.get(o + 3)),
        fingerprint: r.get(o + 4),
        response: r.get(o + 5),
        state: r.get(o + 6),
        created_at_ms: r.get(o + 7),
    }
}

fn audit_row(r: &Row) -> AuditRecord {
    AuditRecord {
        id: r.get(0),
        received_at_ms: r.get(1),
        path: r.get(2),
        action: r.get(3),
        uid: r.get(4),
        request: r.get(5),
        code: r.get(6),
        response: r.get(7),
        flagged: r.get(8),
        note: r.get(9),
    }
}

async fn complete(c: &impl GenericClient, tenant: &str, mut s: ClientState, now_ms: i64) -> StoreResult<ClientState> {
    let rows = query(c, "SELECT card FROM loyalty_cards WHERE tenant_id = $1 AND client_id = $2 ORDER BY card COLLATE \"C\"", &[&tenant, &s.client.id]).await?;
    s.client.cards = rows.iter().map(|r| r.get(0)).collect();
    let pending: i64 = query(
        c,
        "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM loyalty_entries
         WHERE tenant_id = $1 AND client_id = $2 AND kind = 'accrual' AND available_at > $3",
        &[&tenant, &s.client.id, &now_ms],
    )
    .await?[0]
        .get(0);
    s.account.pending = Money::from_minor(pending);
    Ok(s)
}

async fn client_by_id(c: &impl GenericClient, tenant: &str, id: &str, now_ms: i64) -> StoreResult<Option<ClientState>> {
    match opt(c, &format!("SELECT {CLIENT_COLS} FROM loyalty_clients WHERE tenant_id = $1 AND id = $2"), &[&tenant, &id]).await? {
        Some(r) => Ok(Some(complete(c, tenant, client_row(&r), now_ms).await?)),
        None => Ok(None),
    }
}

async fn doc(c: &impl GenericClient, tenant: &str, uid: &str, doc_type: &str) -> StoreResult<Option<DocRow>> {
    Ok(opt(c, &format!("SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = $1 AND uid = $2 AND doc_type = $3"), &[&tenant, &uid, &doc_type])
        .await?
        .map(|r| doc_row(&r)))
}

async fn snapshot(c: &impl GenericClient, tenant: &str, q: &SnapshotQuery) -> StoreResult<Snapshot> {
    let rule_rows = query(
        c,
        "SELECT id, kind, target_kind, target, percent_bp, price_minor, hours FROM loyalty_rules
         WHERE tenant_id = $1 AND active ORDER BY id COLLATE \"C\"",
        &[&tenant],
    )
    .await?;
    let rules = rule_rows
        .iter()
        .map(|r| {
            RuleRow {
                id: r.get(0),
                kind: r.get(1),
                target_kind: r.get(2),
                target: r.get(3),
                percent_bp: r.get(4),
                price_minor: r.get(5),
                hours: r.get(6),
                active: true,
            }
            .to_rule()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut s = Snapshot { rules, ..Default::default() };
    if let Some(key) = &q.client {
        let id: Option<String> = match key {
            ClientKey::Card(card) => opt(c, "SELECT client_id FROM loyalty_cards WHERE tenant_id = $1 AND card = $2", &[&tenant, card]).await?,
            ClientKey::Phone(p) => opt(c, "SELECT id FROM loyalty_clients WHERE tenant_id = $1 AND phone = $2", &[&tenant, p]).await?,
        }
        .map(|r| r.get(0));
        if let Some(id) = id {
            s.client = client_by_id(c, tenant, &id, q.now_ms).await?;
        }
    }
    if let Some(uid) = &q.uid {
        if let Some(t) = &q.doc_type {
            s.doc = doc(c, tenant, uid, t).await?;
        }
        let rows = query(c, &format!("SELECT {HOLD_COLS} FROM loyalty_holds WHERE tenant_id = $1 AND uid = $2 ORDER BY id"), &[&tenant, uid]).await?;
        s.holds = rows.iter().map(|r| hold_row(r, 0)).collect();
    }
    if let Some(r) = &q.reference_uid {
        s.sale = doc(c, tenant, r, "receipt").await?;
    }
    if let Some(r) = &q.pending_refunds_of {
        let rows = query(
            c,
            &format!(
                "SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = $1 AND reference_uid = $2
                 AND doc_type = 'refundReceipt' AND state = 'pending' ORDER BY created_at, uid COLLATE \"C\""
            ),
            &[&tenant, r],
        )
        .await?;
        s.pending_refunds = rows.iter().map(doc_row).collect();
    }
    if let Some((uid, phone)) = &q.code_for {
        s.code = opt(
            c,
            "SELECT code, expires_at FROM loyalty_codes WHERE tenant_id = $1 AND uid = $2 AND phone = $3 AND expires_at > $4",
            &[&tenant, uid, phone, &q.now_ms],
        )
        .await?
        .map(|r| ValidationCode { uid: uid.clone(), phone: phone.clone(), code: r.get(0), expires_at_ms: r.get(1) });
    }
    Ok(s)
}

async fn commit(c: &impl GenericClient, tenant: &str, m: &Commit, now_ms: i64) -> StoreResult<i64> {
    let conflict = |s: String| StoreError::Conflict(s);
    for (client, version) in &m.versions {
        let current: Option<i64> = opt(c, "SELECT version FROM loyalty_clients WHERE tenant_id = $1 AND id = $2 FOR UPDATE", &[&tenant, client])
            .await?
            .map(|r| r.get(0));
        if current != Some(*version) {
            return Err(conflict(format!("client '{client}' changed meanwhile")));
        }
    }
    for (uid, t) in &m.expect_absent {
        if doc(c, tenant, uid, t).await?.is_some() {
            return Err(conflict(format!("document {t} {uid} exists now")));
        }
    }
    if let Some((sale, n)) = &m.expect_pending_refunds {
        let count: i64 = query(
            c,
            "SELECT count(*) FROM loyalty_documents WHERE tenant_id = $1 AND reference_uid = $2
             AND doc_type = 'refundReceipt' AND state = 'pending'",
            &[&tenant, sale],
        )
        .await?[0]
            .get(0);
        if count != *n {
            return Err(conflict(format!("pending refunds of {sale} changed")));
        }
    }
    for e in &m.entries {
        let (b, h) = e.effect();
        let n = exec(
            c,
            "UPDATE loyalty_clients SET balance_minor = balance_minor + $3, held_minor = held_minor + $4,
             version = version + 1, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
            &[&tenant, &e.client_id, &b.minor(), &h.minor(), &now_ms],
        )
        .await?;
        if n != 1 {
            return Err(StoreError::NotFound(format!("loyalty client '{}'", e.client_id)));
        }
        exec(
            c,
            "INSERT INTO loyalty_entries (tenant_id, client_id, kind, amount_minor, balance_delta, held_delta,
             available_at, doc_uid, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&tenant, &e.client_id, &e.kind.as_str(), &e.amount.minor(), &b.minor(), &h.minor(), &e.available_at_ms, &e.doc_uid, &e.note, &now_ms],
        )
        .await?;
    }
    for h in &m.hold_changes {
        let n = exec(
            c,
            "UPDATE loyalty_holds SET state = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND state = $3",
            &[&tenant, &h.id, &h.from, &h.to, &now_ms],
        )
        .await?;
        if n != 1 {
            return Err(conflict(format!("reservation {} is no longer {}", h.id, h.from)));
        }
    }
    for h in &m.new_holds {
        exec(
            c,
            "INSERT INTO loyalty_holds (tenant_id, uid, client_id, amount_minor, fingerprint, response, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
            &[&tenant, &h.uid, &h.client_id, &h.amount.minor(), &h.fingerprint, &h.response, &now_ms],
        )
        .await?;
    }
    for d in &m.docs {
        let r = &d.row;
        let p: [&(dyn ToSql + Sync); 11] =
            [&tenant, &r.uid, &r.doc_type, &r.client_id, &r.fingerprint, &r.state, &r.reference_uid, &r.response, &r.data, &r.flagged, &now_ms];
        let n = if d.insert {
            exec(
                c,
                "INSERT INTO loyalty_documents (tenant_id, uid, doc_type, client_id, fingerprint, state, reference_uid, response,
                 data, flagged, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                &p,
            )
            .await?
        } else {
            let mut p = p.to_vec();
            p.push(&d.expect_state);
            p.push(&d.expect_data);
            exec(
                c,
                "UPDATE loyalty_documents SET client_id = $4, fingerprint = $5, state = $6, reference_uid = $7, response = $8,
                 data = $9, flagged = $10, updated_at = $11 WHERE tenant_id = $1 AND uid = $2 AND doc_type = $3
                 AND ($12::TEXT IS NULL OR state = $12) AND ($13::TEXT IS NULL OR data = $13)",
                &p,
            )
            .await?
        };
        if n != 1 {
            return Err(conflict(format!("document {} {} not written", r.doc_type, r.uid)));
        }
    }
    if let Some(code) = &m.code {
        exec(
            c,
            "INSERT INTO loyalty_codes (tenant_id, uid, phone, code, expires_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, uid, phone) DO UPDATE SET code = excluded.code, expires_at = excluded.expires_at",
            &[&tenant, &code.uid, &code.phone, &code.code, &code.expires_at_ms],
        )
        .await?;
    }
    let mut id = 0;
    if let Some(a) = &m.audit {
        id = query(
            c,
            "INSERT INTO loyalty_audit (tenant_id, received_at, path, action, uid, request, code, response, flagged, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[&tenant, &a.received_at_ms, &a.path, &a.action, &a.uid, &a.request, &a.code, &a.response, &a.flagged, &a.note],
        )
        .await?[0]
            .get(0);
    }
    Ok(id)
}

#[async_trait]
impl LoyaltyStore for PgStore {
    async fn loyalty_tenants(&self) -> StoreResult<Vec<LoyaltyTenant>> {
        let rows = query(
            &self.client().await?,
            "SELECT t.id, (SELECT secret FROM credentials k WHERE k.tenant_id = t.id AND k.face = 'loyalty' AND k.active LIMIT 1)
             FROM tenants t WHERE EXISTS (SELECT 1 FROM credentials k WHERE k.tenant_id = t.id AND k.face = 'loyalty' AND k.active)
                OR EXISTS (SELECT 1 FROM loyalty_rules r WHERE r.tenant_id = t.id AND r.active)
             ORDER BY t.id COLLATE \"C\"",
            &[],
        )
        .await?;
        Ok(rows.iter().map(|r| LoyaltyTenant { tenant_id: r.get(0), access_key: r.get(1) }).collect())
    }

    async fn loyalty_snapshot(&self, tenant: &str, q: &SnapshotQuery) -> StoreResult<Snapshot> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db_err)?;
        let s = snapshot(&tx, tenant, q).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn loyalty_commit(&self, tenant: &str, m: &Commit, now_ms: i64) -> StoreResult<i64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let id = commit(&tx, tenant, m, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }

    async fn loyalty_put_client(&self, tenant: &str, cl: &ClientRow, now_ms: i64) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let existed = opt(&tx, "SELECT 1 FROM loyalty_clients WHERE tenant_id = $1 AND id = $2", &[&tenant, &cl.id]).await?.is_some();
        exec(
            &tx,
            "INSERT INTO loyalty_clients (tenant_id, id, name, phone, email, blocked, requires_validation, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, phone = excluded.phone, email = excluded.email,
             blocked = excluded.blocked, requires_validation = excluded.requires_validation, updated_at = excluded.updated_at",
            &[&tenant, &cl.id, &cl.name, &cl.phone, &cl.email, &cl.blocked, &cl.requires_validation, &now_ms],
        )
        .await?;
        exec(&tx, "DELETE FROM loyalty_cards WHERE tenant_id = $1 AND client_id = $2", &[&tenant, &cl.id]).await?;
        for card in &cl.cards {
            exec(&tx, "INSERT INTO loyalty_cards (tenant_id, card, client_id) VALUES ($1, $2, $3)", &[&tenant, card, &cl.id])
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("card '{card}' belongs to another client")),
                    other => other,
                })?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(!existed)
    }

    async fn loyalty_client(&self, tenant: &str, id: &str, now_ms: i64) -> StoreResult<Option<ClientState>> {
        client_by_id(&self.client().await?, tenant, id, now_ms).await
    }

    async fn loyalty_clients(&self, tenant: &str, after_id: Option<&str>, limit: u32, now_ms: i64) -> StoreResult<Vec<ClientState>> {
        let c = self.client().await?;
        let rows = query(
            &c,
            &format!(
                "SELECT {CLIENT_COLS} FROM loyalty_clients WHERE tenant_id = $1 AND id COLLATE \"C\" > $2
                 ORDER BY id COLLATE \"C\" LIMIT $3"
            ),
            &[&tenant, &after_id.unwrap_or(""), &i64::from(limit)],
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(complete(&c, tenant, client_row(r), now_ms).await?);
        }
        Ok(out)
    }

    async fn loyalty_entries(&self, tenant: &str, client_id: Option<&str>, before_seq: Option<i64>, limit: u32) -> StoreResult<Vec<EntryRow>> {
        let rows = query(
            &self.client().await?,
            "SELECT seq, client_id, kind, amount_minor, balance_delta, held_delta, available_at, doc_uid, note, created_at
             FROM loyalty_entries WHERE tenant_id = $1 AND ($2::TEXT IS NULL OR client_id = $2) AND seq < $3
             ORDER BY seq DESC LIMIT $4",
            &[&tenant, &client_id, &before_seq.unwrap_or(i64::MAX), &i64::from(limit)],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(2);
                Ok(EntryRow {
                    seq: r.get(0),
                    client_id: r.get(1),
                    kind: EntryKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("ledger entry kind '{kind}'")))?,
                    amount: Money::from_minor(r.get(3)),
                    balance_delta: Money::from_minor(r.get(4)),
                    held_delta: Money::from_minor(r.get(5)),
                    available_at_ms: r.get(6),
                    doc_uid: r.get(7),
                    note: r.get(8),
                    created_at_ms: r.get(9),
                })
            })
            .collect()
    }

    async fn loyalty_audit(&self, tenant: &str, f: &AuditFilter) -> StoreResult<Vec<AuditRecord>> {
        let rows = query(
            &self.client().await?,
            &format!(
                "SELECT {AUDIT_COLS} FROM loyalty_audit WHERE tenant_id = $1 AND id < $2 AND (NOT $3 OR flagged)
                 AND ($4::TEXT IS NULL OR uid = $4) ORDER BY id DESC LIMIT $5"
            ),
            &[&tenant, &f.before_id.unwrap_or(i64::MAX), &f.flagged_only, &f.uid, &i64::from(f.limit)],
        )
        .await?;
        Ok(rows.iter().map(audit_row).collect())
    }

    async fn loyalty_audit_record(&self, tenant: &str, id: i64) -> StoreResult<Option<AuditRecord>> {
        Ok(opt(&self.client().await?, &format!("SELECT {AUDIT_COLS} FROM loyalty_audit WHERE tenant_id = $1 AND id = $2"), &[&tenant, &id])
            .await?
            .map(|r| audit_row(&r)))
    }

    async fn loyalty_documents(&self, tenant: &str, limit: u32) -> StoreResult<Vec<DocRow>> {
        let rows = query(
            &self.client().await?,
            &format!("SELECT {DOC_COLS} FROM loyalty_documents WHERE tenant_id = $1 ORDER BY created_at DESC, uid COLLATE \"C\" LIMIT $2"),
            &[&tenant, &i64::from(limit)],
        )
        .await?;
        Ok(rows.iter().map(doc_row).collect())
    }

    async fn loyalty_stale_holds(&self, before_ms: i64, limit: u32) -> StoreResult<Vec<(String, HoldRow)>> {
        let rows = query(
            &self.client().await?,
            &format!(
                "SELECT tenant_id, {HOLD_COLS} FROM loyalty_holds WHERE state = 'active' AND created_at < $1
                 ORDER BY created_at, id LIMIT $2"
            ),
            &[&before_ms, &i64::from(limit)],
        )
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), hold_row(r, 1))).collect())
    }

    async fn loyalty_check_ledger(&self, tenant: &str) -> StoreResult<Vec<String>> {
        let rows = query(
            &self.client().await?,
            "SELECT cl.id, cl.balance_minor, cl.held_minor,
                (SELECT COALESCE(SUM(balance_delta), 0)::BIGINT FROM loyalty_entries e WHERE e.tenant_id = cl.tenant_id AND e.client_id = cl.id),
                (SELECT COALESCE(SUM(held_delta), 0)::BIGINT FROM loyalty_entries e WHERE e.tenant_id = cl.tenant_id AND e.client_id = cl.id),
                (SELECT COALESCE(SUM(amount_minor), 0)::BIGINT FROM loyalty_holds h WHERE h.tenant_id = cl.tenant_id AND h.client_id = cl.id AND h.state = 'active')
             FROM loyalty_clients cl WHERE cl.tenant_id = $1 ORDER BY cl.id COLLATE \"C\"",
            &[&tenant],
        )
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let (id, b, h, sb, sh, act): (String, i64, i64, i64, i64, i64) = (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5));
                (b != sb || h != sh || h != act)
                    .then(|| format!("client {id}: balance {b} vs entries {sb}, held {h} vs entries {sh} vs active reservations {act}"))
            })
            .collect())
    }
}
