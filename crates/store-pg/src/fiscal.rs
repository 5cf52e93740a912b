//! Fiscal registers tables (FiscalStore).
//!
//! `fiscal_apply` is one transaction: the register's state row is created if missing
//! (`ON CONFLICT DO NOTHING`, so racing first uses agree) and then locked with
//! `SELECT … FOR UPDATE`, which serialises commands on one register across connections and
//! nodes; numbering is therefore gapless. The pure rules run while the lock is held.

use crate::PgStore;
use crate::db_err;
use crate::provisioning::{col, corrupt, execute, query, query_opt};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use kassa_domain::fiscal::{Command, FiscalError, GENESIS_HASH};
use kassa_domain::provisioning::{RegisterProfile, RegisterRole};
use kassa_money::Money;
use kassa_store::fiscal::{
    ApplyOptions, FiscalStore, JournalEntry, RegisterRecord, RegisterRows, RegisterSecrets, StateRow, Unsent,
    drained_state, initial_state_row, parse_state, transition,
};
use kassa_store::{RegisterRow, StoreError, StoreResult};
use tokio_postgres::Row;

async fn register_rows(c: &impl GenericClient, id: &str) -> StoreResult<Option<RegisterRows>> {
    let Some(r) = query_opt(
        c,
        "SELECT r.tenant_id, r.id, r.profile, r.group_code, r.role, r.fn_number, r.reg_number, r.ofd_id, r.active,
                g.inn, g.payment_address, g.sno
         FROM registers r LEFT JOIN register_groups g ON g.tenant_id = r.tenant_id AND g.code = r.group_code
         WHERE r.id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let profile: String = col(&r, "profile")?;
    let role: String = col(&r, "role")?;
    Ok(Some(RegisterRows {
        tenant_id: col(&r, "tenant_id")?,
        register: RegisterRow {
            id: col(&r, "id")?,
            profile: RegisterProfile::parse(&profile).ok_or_else(|| corrupt("profile", &profile))?,
            group_code: col(&r, "group_code")?,
            role: RegisterRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
            fn_number: col(&r, "fn_number")?,
            reg_number: col(&r, "reg_number")?,
            ofd_id: col(&r, "ofd_id")?,
            active: col(&r, "active")?,
        },
        group_inn: col(&r, "inn")?,
        group_payment_address: col(&r, "payment_address")?,
        group_sno: col(&r, "sno")?,
    }))
}

fn state_of(r: &Row) -> StoreResult<StateRow> {
    Ok(StateRow {
        secret_hex: col(r, "secret")?,
        state_json: col(r, "state")?,
        last_seq: col::<i64>(r, "last_seq")? as u64,
        last_hash: col(r, "last_hash")?,
    })
}

const ENTRY_COLUMNS: &str = "register_id, seq, kind, fiscal, number, shift_number, receipt_number, time_ms, total_minor,
    fiscal_sign, qr, doc, prev_hash, hash, pending, delivered_at";

fn entry(r: &Row) -> StoreResult<JournalEntry> {
    Ok(JournalEntry {
        register_id: col(r, "register_id")?,
        seq: col::<i64>(r, "seq")? as u64,
        kind: col(r, "kind")?,
        fiscal: col(r, "fiscal")?,
        number: col::<i64>(r, "number")? as u64,
        shift_number: col::<i64>(r, "shift_number")? as u32,
        receipt_number: col::<Option<i64>>(r, "receipt_number")?.map(|n| n as u32),
        time_ms: col(r, "time_ms")?,
        total: Money::from_minor(col(r, "total_minor")?),
        fiscal_sign: col::<i64>(r, "fiscal_sign")? as u32,
        qr: col(r, "qr")?,
        doc: col(r, "doc")?,
        prev_hash: col(r, "prev_hash")?,
        hash: col(r, "hash")?,
        pending: col(r, "pending")?,
        delivered_at: col(r, "delivered_at")?,
    })
}

async fn apply(
    c: &impl GenericClient,
    id: &str,
    command: &Command,
    opts: ApplyOptions,
) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
    let Some(rows) = register_rows(c, id).await? else {
        return Err(StoreError::NotFound(format!("no register '{id}'")));
    };
    let locked = "SELECT secret, state, last_seq, last_hash FROM fiscal_registers WHERE register_id = $1 FOR UPDATE";
    let current = match query_opt(c, locked, &[&id]).await? {
        Some(r) => state_of(&r)?,
        None => {
            let init = match initial_state_row(&rows, opts.now_ms) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            execute(
                c,
                "INSERT INTO fiscal_registers (register_id, profile, secret, state, last_seq, last_hash, updated_at)
                 VALUES ($1, $2, $3, $4, 0, $5, $6) ON CONFLICT (register_id) DO NOTHING",
                &[&id, &rows.register.profile.as_str(), &init.secret_hex, &init.state_json, &init.last_hash, &opts.now_ms],
            )
            .await?;
            let r = query_opt(c, locked, &[&id]).await?.ok_or_else(|| StoreError::Unavailable("state row vanished".into()))?;
            state_of(&r)?
        }
    };
    let t = match transition(&rows, &current, command, opts)? {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    execute(
        c,
        "UPDATE fiscal_registers SET state = $2, last_seq = $3, last_hash = $4, updated_at = $5 WHERE register_id = $1",
        &[&id, &t.state.state_json, &(t.state.last_seq as i64), &t.state.last_hash, &opts.now_ms],
    )
    .await?;
    let insert = format!(
        "INSERT INTO fiscal_journal ({ENTRY_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
    );
    for e in &t.entries {
        execute(
            c,
            &insert,
            &[
                &e.register_id,
                &(e.seq as i64),
                &e.kind,
                &e.fiscal,
                &(e.number as i64),
                &i64::from(e.shift_number),
                &e.receipt_number.map(i64::from),
                &e.time_ms,
                &e.total.minor(),
                &i64::from(e.fiscal_sign),
                &e.qr,
                &e.doc,
                &e.prev_hash,
                &e.hash,
                &e.pending,
                &e.delivered_at,
            ],
        )
        .await?;
    }
    Ok(t.answer())
}

async fn keyed_entry(c: &impl GenericClient, tenant_id: &str, key: &str) -> StoreResult<Option<JournalEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM fiscal_journal
         WHERE (register_id, seq) = (SELECT register_id, seq FROM fiscal_keys WHERE tenant_id = $1 AND doc_key = $2)"
    );
    match query_opt(c, &sql, &[&tenant_id, &key]).await? {
        Some(r) => Ok(Some(entry(&r)?)),
        None => Ok(None),
    }
}

/// `apply` once per external key (see `FiscalStore::fiscal_apply_keyed`). The register's row
/// lock serialises retries on one register; the primary key makes a concurrent registration of
/// the same key on another register roll back.
async fn apply_keyed(
    c: &impl GenericClient,
    id: &str,
    key: &str,
    command: &Command,
    opts: ApplyOptions,
) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
    let Some(rows) = register_rows(c, id).await? else {
        return Err(StoreError::NotFound(format!("no register '{id}'")));
    };
    query_opt(c, "SELECT 1 AS one FROM fiscal_registers WHERE register_id = $1 FOR UPDATE", &[&id]).await?;
    if let Some(e) = keyed_entry(c, &rows.tenant_id, key).await? {
        return Ok(Ok(vec![e]));
    }
    let out = apply(c, id, command, opts).await?;
    if let Ok(Some(last)) = out.as_ref().map(|v| v.last()) {
        execute(
            c,
            "INSERT INTO fiscal_keys (tenant_id, doc_key, register_id, seq) VALUES ($1, $2, $3, $4)",
            &[&rows.tenant_id, &key, &id, &(last.seq as i64)],
        )
        .await?;
    }
    Ok(out)
}

async fn unsent(c: &impl GenericClient, id: &str) -> StoreResult<Unsent> {
    let count: i64 = col(
        &query_opt(c, "SELECT count(*) AS n FROM fiscal_journal WHERE register_id = $1 AND pending", &[&id])
            .await?
            .ok_or_else(|| StoreError::Unavailable("count returned no row".into()))?,
        "n",
    )?;
    let first = query_opt(
        c,
        "SELECT seq, number, time_ms FROM fiscal_journal WHERE register_id = $1 AND pending ORDER BY seq LIMIT 1",
        &[&id],
    )
    .await?;
    let first = match first {
        Some(r) => Some((col::<i64>(&r, "seq")? as u64, col::<i64>(&r, "number")? as u64, col::<i64>(&r, "time_ms")?)),
        None => None,
    };
    Ok(Unsent::from_oldest(count, first))
}

#[async_trait]
impl FiscalStore for PgStore {
    async fn fiscal_apply(
        &self,
        register_id: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let out = apply(&tx, register_id, command, opts).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn fiscal_apply_keyed(
        &self,
        register_id: &str,
        key: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let out = apply_keyed(&tx, register_id, key, command, opts).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn fiscal_keyed_entry(&self, tenant_id: &str, key: &str) -> StoreResult<Option<JournalEntry>> {
        let client = self.client().await?;
        keyed_entry(&client, tenant_id, key).await
    }

    async fn fiscal_register(&self, register_id: &str) -> StoreResult<Option<RegisterRecord>> {
        let mut client = self.client().await?;
        // One snapshot for the register, its state and its outbox summary.
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await.map_err(db_err)?;
        let Some(rows) = register_rows(&tx, register_id).await? else { return Ok(None) };
        let st = match query_opt(&tx, "SELECT secret, state, last_seq, last_hash FROM fiscal_registers WHERE register_id = $1", &[&register_id]).await? {
            Some(r) => Some(state_of(&r)?),
            None => None,
        };
        let state = match &st {
            Some(s) => Some(parse_state(register_id, &s.state_json)?),
            None => None,
        };
        let unsent = unsent(&tx, register_id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(RegisterRecord {
            tenant_id: rows.tenant_id.clone(),
            identity: rows.identity(),
            register: rows.register,
            state,
            last_seq: st.as_ref().map_or(0, |s| s.last_seq),
            last_hash: st.map_or_else(|| GENESIS_HASH.to_owned(), |s| s.last_hash),
            unsent,
        }))
    }

    async fn fiscal_journal(&self, register_id: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        let client = self.client().await?;
        query(
            &client,
            &format!("SELECT {ENTRY_COLUMNS} FROM fiscal_journal WHERE register_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"),
            &[&register_id, &(after_seq as i64), &i64::from(limit)],
        )
        .await?
        .iter()
        .map(entry)
        .collect()
    }

    async fn fiscal_outbox(&self, register_id: &str, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        let client = self.client().await?;
        query(
            &client,
            &format!("SELECT {ENTRY_COLUMNS} FROM fiscal_journal WHERE register_id = $1 AND pending ORDER BY seq LIMIT $2"),
            &[&register_id, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(entry)
        .collect()
    }

    async fn fiscal_outbox_registers(&self, limit: u32) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT r.register_id FROM fiscal_registers r
             WHERE EXISTS (SELECT 1 FROM fiscal_journal j WHERE j.register_id = r.register_id AND j.pending)
             ORDER BY r.register_id COLLATE \"C\" LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?
        .iter()
        .map(|r| col(r, "register_id"))
        .collect()
    }

    async fn fiscal_mark_delivered(&self, register_id: &str, up_to_seq: u64, now_ms: i64) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        // The state row lock first (the order `fiscal_apply` takes): a document committed before it
        // is counted below, one committed after it waits, so "nothing pending" is true when the
        // state changes (CORE-96).
        let state = query_opt(&tx, "SELECT state FROM fiscal_registers WHERE register_id = $1 FOR UPDATE", &[&register_id]).await?;
        let n = execute(
            &tx,
            "UPDATE fiscal_journal SET pending = false, delivered_at = $3 WHERE register_id = $1 AND pending AND seq <= $2",
            &[&register_id, &(up_to_seq as i64), &now_ms],
        )
        .await?;
        let pending = query_opt(&tx, "SELECT 1 AS one FROM fiscal_journal WHERE register_id = $1 AND pending LIMIT 1", &[&register_id])
            .await?
            .is_some();
        if let Some(r) = state
            && !pending
            && let Some(json) = drained_state(register_id, &col::<String>(&r, "state")?)?
        {
            execute(&tx, "UPDATE fiscal_registers SET state = $2, updated_at = $3 WHERE register_id = $1", &[&register_id, &json, &now_ms])
                .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn fiscal_register_ids(&self) -> StoreResult<Vec<String>> {
        let client = self.client().await?;
        query(&client, "SELECT register_id FROM fiscal_registers ORDER BY register_id COLLATE \"C\"", &[])
            .await?
            .iter()
            .map(|r| col(r, "register_id"))
            .collect()
    }

    async fn fiscal_secrets(&self, register_id: &str) -> StoreResult<Option<RegisterSecrets>> {
        let client = self.client().await?;
        let row = query_opt(
            &client,
            "SELECT secret, state, last_seq, last_hash FROM fiscal_registers WHERE register_id = $1",
            &[&register_id],
        )
        .await?;
        row.map(|r| {
            let s = state_of(&r)?;
            Ok(RegisterSecrets {
                register_id: register_id.to_owned(),
                secret_hex: s.secret_hex,
                state_json: s.state_json,
                last_seq: s.last_seq,
                last_hash: s.last_hash,
            })
        })
        .transpose()
    }
}
