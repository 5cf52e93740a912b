//! Fiscal registers tables (FiscalStore).
//!
//! `fiscal_apply` runs entirely inside the writer thread's savepoint: read the register and its
//! state row, apply the pure rules, write the state and the journal entries. The single writer
//! makes one document at a time per register; the group commit makes many registers' documents
//! share one fsync.

use crate::{SqliteStore, db_err};
use async_trait::async_trait;
use kassa_domain::fiscal::{Command, FiscalError};
use kassa_domain::provisioning::{RegisterProfile, RegisterRole};
use kassa_money::Money;
use kassa_store::fiscal::{
    ApplyOptions, FiscalStore, JournalEntry, RegisterRecord, RegisterRows, RegisterSecrets, StateRow, Unsent,
    drained_state, initial_state_row, parse_state, transition,
};
use kassa_store::{RegisterRow, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    let msg = format!("stored {what} '{value}' is not known to this build");
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

fn register_rows(c: &Connection, id: &str) -> StoreResult<Option<RegisterRows>> {
    c.prepare_cached(
        "SELECT r.tenant_id, r.id, r.profile, r.group_code, r.role, r.fn_number, r.reg_number, r.ofd_id, r.active,
                g.inn, g.payment_address, g.sno
         FROM registers r LEFT JOIN register_groups g ON g.tenant_id = r.tenant_id AND g.code = r.group_code
         WHERE r.id = ?1",
    )
    .map_err(db_err)?
    .query_row([id], |r| {
        let profile: String = r.get(2)?;
        let role: String = r.get(4)?;
        Ok(RegisterRows {
            tenant_id: r.get(0)?,
            register: RegisterRow {
                id: r.get(1)?,
                profile: RegisterProfile::parse(&profile).ok_or_else(|| corrupt("profile", &profile))?,
                group_code: r.get(3)?,
                role: RegisterRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
                fn_number: r.get(5)?,
                reg_number: r.get(6)?,
                ofd_id: r.get(7)?,
                active: r.get(8)?,
            },
            group_inn: r.get(9)?,
            group_payment_address: r.get(10)?,
            group_sno: r.get(11)?,
        })
    })
    .optional()
    .map_err(db_err)
}

fn state_row(c: &Connection, id: &str) -> StoreResult<Option<StateRow>> {
    c.prepare_cached("SELECT secret, state, last_seq, last_hash FROM fiscal_registers WHERE register_id = ?1")
        .map_err(db_err)?
        .query_row([id], |r| {
            Ok(StateRow { secret_hex: r.get(0)?, state_json: r.get(1)?, last_seq: r.get::<_, i64>(2)? as u64, last_hash: r.get(3)? })
        })
        .optional()
        .map_err(db_err)
}

const ENTRY_COLUMNS: &str = "register_id, seq, kind, fiscal, number, shift_number, receipt_number, time_ms, total_minor,
    fiscal_sign, qr, doc, prev_hash, hash, pending, delivered_at";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<JournalEntry> {
    Ok(JournalEntry {
        register_id: r.get(0)?,
        seq: r.get::<_, i64>(1)? as u64,
        kind: r.get(2)?,
        fiscal: r.get(3)?,
        number: r.get::<_, i64>(4)? as u64,
        shift_number: r.get::<_, i64>(5)? as u32,
        receipt_number: r.get::<_, Option<i64>>(6)?.map(|n| n as u32),
        time_ms: r.get(7)?,
        total: Money::from_minor(r.get(8)?),
        fiscal_sign: r.get::<_, i64>(9)? as u32,
        qr: r.get(10)?,
        doc: r.get(11)?,
        prev_hash: r.get(12)?,
        hash: r.get(13)?,
        pending: r.get(14)?,
        delivered_at: r.get(15)?,
    })
}

/// The register's identity and group, or NotFound.
fn known_register(c: &Connection, id: &str) -> StoreResult<RegisterRows> {
    register_rows(c, id)?.ok_or_else(|| StoreError::NotFound(format!("no register '{id}'")))
}

fn apply(c: &Connection, id: &str, command: &Command, opts: ApplyOptions) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
    apply_to(c, &known_register(c, id)?, command, opts)
}

fn apply_to(c: &Connection, rows: &RegisterRows, command: &Command, opts: ApplyOptions) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
    let id = rows.register.id.as_str();
    let current = match state_row(c, id)? {
        Some(s) => s,
        None => {
            let init = match initial_state_row(rows, opts.now_ms) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            c.prepare_cached(
                "INSERT INTO fiscal_registers (register_id, profile, secret, state, last_seq, last_hash, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
            )
            .map_err(db_err)?
            .execute(params![id, rows.register.profile.as_str(), init.secret_hex, init.state_json, init.last_hash, opts.now_ms])
            .map_err(db_err)?;
            init
        }
    };
    let t = match transition(rows, &current, command, opts)? {
        Ok(t) => t,
        Err(e) => return Ok(Err(e)),
    };
    c.prepare_cached("UPDATE fiscal_registers SET state = ?2, last_seq = ?3, last_hash = ?4, updated_at = ?5 WHERE register_id = ?1")
        .map_err(db_err)?
        .execute(params![id, t.state.state_json, t.state.last_seq as i64, t.state.last_hash, opts.now_ms])
        .map_err(db_err)?;
    let mut ins = c
        .prepare_cached(&format!("INSERT INTO fiscal_journal ({ENTRY_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"))
        .map_err(db_err)?;
    for e in &t.entries {
        ins.execute(params![
            e.register_id,
            e.seq as i64,
            e.kind,
            e.fiscal,
            e.number as i64,
            i64::from(e.shift_number),
            e.receipt_number.map(i64::from),
            e.time_ms,
            e.total.minor(),
            i64::from(e.fiscal_sign),
            e.qr,
            e.doc,
            e.prev_hash,
            e.hash,
            e.pending,
            e.delivered_at,
        ])
        .map_err(db_err)?;
    }
    Ok(t.answer())
}

fn keyed_entry(c: &Connection, tenant_id: &str, key: &str) -> StoreResult<Option<JournalEntry>> {
    c.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM fiscal_journal
         WHERE (register_id, seq) = (SELECT register_id, seq FROM fiscal_keys WHERE tenant_id = ?1 AND doc_key = ?2)"
    ))
    .map_err(db_err)?
    .query_row(params![tenant_id, key], entry)
    .optional()
    .map_err(db_err)
}

/// `apply` once per external key (see `FiscalStore::fiscal_apply_keyed`); the single writer
/// makes the look-up and the registration one step.
fn apply_keyed(
    c: &Connection,
    id: &str,
    key: &str,
    command: &Command,
    opts: ApplyOptions,
) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
    let rows = known_register(c, id)?;
    if let Some(e) = keyed_entry(c, &rows.tenant_id, key)? {
        return Ok(Ok(vec![e]));
    }
    let out = apply_to(c, &rows, command, opts)?;
    if let Ok(Some(last)) = out.as_ref().map(|v| v.last()) {
        c.prepare_cached("INSERT INTO fiscal_keys (tenant_id, doc_key, register_id, seq) VALUES (?1, ?2, ?3, ?4)")
            .map_err(db_err)?
            .execute(params![rows.tenant_id, key, id, last.seq as i64])
            .map_err(db_err)?;
    }
    Ok(out)
}

// The OFD outbox is read and drained through its partial index, named in every statement: left
// to itself the planner walks the primary key (register_id, seq) from the register's first entry,
// so each delivery cost the whole journal (a third of the writer in the demo atol-sell).
fn unsent(c: &Connection, id: &str) -> StoreResult<Unsent> {
    let count: i64 = c
        .prepare_cached("SELECT count(*) FROM fiscal_journal INDEXED BY fiscal_outbox WHERE register_id = ?1 AND pending = 1")
        .map_err(db_err)?
        .query_row([id], |r| r.get(0))
        .map_err(db_err)?;
    let first = c
        .prepare_cached(
            "SELECT seq, number, time_ms FROM fiscal_journal INDEXED BY fiscal_outbox WHERE register_id = ?1 AND pending = 1 ORDER BY seq LIMIT 1",
        )
        .map_err(db_err)?
        .query_row([id], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)?)))
        .optional()
        .map_err(db_err)?;
    Ok(Unsent::from_oldest(count, first))
}

#[async_trait]
impl FiscalStore for SqliteStore {
    async fn fiscal_apply(
        &self,
        register_id: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
        let (id, command) = (register_id.to_owned(), command.clone());
        self.write(move |c| apply(c, &id, &command, opts)).await
    }

    async fn fiscal_apply_keyed(
        &self,
        register_id: &str,
        key: &str,
        command: &Command,
        opts: ApplyOptions,
    ) -> StoreResult<Result<Vec<JournalEntry>, FiscalError>> {
        let (id, key, command) = (register_id.to_owned(), key.to_owned(), command.clone());
        self.write(move |c| apply_keyed(c, &id, &key, &command, opts)).await
    }

    async fn fiscal_keyed_entry(&self, tenant_id: &str, key: &str) -> StoreResult<Option<JournalEntry>> {
        let (tenant_id, key) = (tenant_id.to_owned(), key.to_owned());
        self.read(move |c| keyed_entry(c, &tenant_id, &key)).await
    }

    async fn fiscal_register(&self, register_id: &str) -> StoreResult<Option<RegisterRecord>> {
        let id = register_id.to_owned();
        self.read(move |c| {
            let Some(rows) = register_rows(c, &id)? else { return Ok(None) };
            let st = state_row(c, &id)?;
            let state = match &st {
                Some(s) => Some(parse_state(&id, &s.state_json)?),
                None => None,
            };
            Ok(Some(RegisterRecord {
                tenant_id: rows.tenant_id.clone(),
                identity: rows.identity(),
                register: rows.register,
                state,
                last_seq: st.as_ref().map_or(0, |s| s.last_seq),
                last_hash: st.map_or_else(|| kassa_domain::fiscal::GENESIS_HASH.to_owned(), |s| s.last_hash),
                unsent: unsent(c, &id)?,
            }))
        })
        .await
    }

    async fn fiscal_journal(&self, register_id: &str, after_seq: u64, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        let id = register_id.to_owned();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM fiscal_journal WHERE register_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
                ))
                .map_err(db_err)?;
            st.query_map(params![id, after_seq as i64, i64::from(limit)], entry)
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)
        })
        .await
    }

    async fn fiscal_outbox(&self, register_id: &str, limit: u32) -> StoreResult<Vec<JournalEntry>> {
        let id = register_id.to_owned();
        self.read(move |c| {
            let mut st = c
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM fiscal_journal INDEXED BY fiscal_outbox WHERE register_id = ?1 AND pending = 1 ORDER BY seq LIMIT ?2"
                ))
                .map_err(db_err)?;
            st.query_map(params![id, i64::from(limit)], entry).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
        })
        .await
    }

    async fn fiscal_outbox_registers(&self, limit: u32) -> StoreResult<Vec<String>> {
        self.read(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT r.register_id FROM fiscal_registers r
                     WHERE EXISTS (SELECT 1 FROM fiscal_journal j INDEXED BY fiscal_outbox WHERE j.register_id = r.register_id AND j.pending = 1)
                     ORDER BY r.register_id LIMIT ?1",
                )
                .map_err(db_err)?;
            st.query_map([i64::from(limit)], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
        })
        .await
    }

    async fn fiscal_mark_delivered(&self, register_id: &str, up_to_seq: u64, now_ms: i64) -> StoreResult<u64> {
        let id = register_id.to_owned();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE fiscal_journal INDEXED BY fiscal_outbox SET pending = 0, delivered_at = ?3 WHERE register_id = ?1 AND pending = 1 AND seq <= ?2",
                )
                .map_err(db_err)?
                .execute(params![id, up_to_seq as i64, now_ms])
                .map(|n| n as u64)
                .map_err(db_err)?;
            // CORE-96: the single writer makes "nothing pending" and the state change atomic.
            let pending: bool = c
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM fiscal_journal INDEXED BY fiscal_outbox WHERE register_id = ?1 AND pending = 1)")
                .map_err(db_err)?
                .query_row([&id], |r| r.get(0))
                .map_err(db_err)?;
            if !pending
                && let Some(st) = state_row(c, &id)?
                && let Some(json) = drained_state(&id, &st.state_json)?
            {
                c.prepare_cached("UPDATE fiscal_registers SET state = ?2, updated_at = ?3 WHERE register_id = ?1")
                    .map_err(db_err)?
                    .execute(params![id, json, now_ms])
                    .map_err(db_err)?;
            }
            Ok(n)
        })
        .await
    }

    async fn fiscal_register_ids(&self) -> StoreResult<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT register_id FROM fiscal_registers ORDER BY register_id").map_err(db_err)?;
            st.query_map([], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)
        })
        .await
    }

    async fn fiscal_secrets(&self, register_id: &str) -> StoreResult<Option<RegisterSecrets>> {
        let id = register_id.to_owned();
        self.read(move |c| {
            Ok(state_row(c, &id)?.map(|s| RegisterSecrets {
                register_id: id.clone(),
                secret_hex: s.secret_hex,
                state_json: s.state_json,
                last_seq: s.last_seq,
                last_hash: s.last_hash,
            }))
        })
        .await
    }
}
