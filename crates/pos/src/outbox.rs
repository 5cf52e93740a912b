//! The durable send queue of the POS (EVT-42..EVT-46): a small SQLite file, FIFO by a local
//! sequence number, each entry with its occurrence instant and the envelope current when it
//! occurred (EVT-46 step 1). Depth eviction happens only when an event is added (step 3).
//!
//! The same file holds the loyalty confirm queue (frontol-loyalty.md §9.7, LOY-54, LOY-74,
//! LOY-75): `confirm` request bodies that met a connection error, resent in order later.
//!
//! Calls are short local transactions on one connection; the simulator calls them inline.

use rusqlite::{Connection, params};
use serde_json::Value;
use std::path::Path;

/// The envelope values of an entry (EVT-11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub organization: String,
    pub business_unit: String,
    pub work_place: String,
}

/// One queued event.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub occurred_ms: i64,
    pub envelope: Envelope,
    pub event: Value,
}

pub struct Outbox {
    conn: Connection,
}

fn err(e: rusqlite::Error) -> anyhow::Error {
    anyhow::anyhow!("outbox: {e}")
}

impl Outbox {
    /// Opens (creating if needed) the queue file; `:memory:` gives a throw-away queue.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path).map_err(err)?;
        // Durable like the server: an event the POS was told is queued survives a power cut.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(())).map_err(err)?;
        conn.execute_batch(
            "PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq            INTEGER PRIMARY KEY AUTOINCREMENT,
                 occurred_ms    INTEGER NOT NULL,
                 organization   TEXT NOT NULL,
                 business_unit  TEXT NOT NULL,
                 work_place     TEXT NOT NULL,
                 event          TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS loyalty_confirms (
                 seq   INTEGER PRIMARY KEY AUTOINCREMENT,
                 uid   TEXT NOT NULL,
                 body  TEXT NOT NULL
             );",
        )
        .map_err(err)?;
        Ok(Self { conn })
    }

    /// Appends an event after evicting, from the head, every entry that occurred earlier than
    /// `occurred_ms − max_depth_ms` (EVT-44, EVT-46 step 3). Returns how many were evicted.
    pub fn push(&mut self, envelope: &Envelope, event: &Value, occurred_ms: i64, max_depth_ms: i64) -> anyhow::Result<usize> {
        let tx = self.conn.transaction().map_err(err)?;
        let evicted = tx
            .execute("DELETE FROM outbox WHERE occurred_ms < ?1", [occurred_ms.saturating_sub(max_depth_ms)])
            .map_err(err)?;
        tx.execute(
            "INSERT INTO outbox (occurred_ms, organization, business_unit, work_place, event) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![occurred_ms, envelope.organization, envelope.business_unit, envelope.work_place, event.to_string()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        if evicted > 0 {
            tracing::warn!(evicted, "outbox: events older than the maximum depth were deleted");
        }
        Ok(evicted)
    }

    /// The oldest entries, at most `limit`, stopping before the first whose envelope differs
    /// from the first entry's (EVT-46 step 4).
    pub fn head(&self, limit: usize) -> anyhow::Result<Vec<Entry>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, occurred_ms, organization, business_unit, work_place, event FROM outbox ORDER BY seq LIMIT ?1")
            .map_err(err)?;
        let rows = st
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let text: String = r.get(5)?;
                Ok(Entry {
                    seq: r.get(0)?,
                    occurred_ms: r.get(1)?,
                    envelope: Envelope { organization: r.get(2)?, business_unit: r.get(3)?, work_place: r.get(4)? },
                    event: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                })
            })
            .map_err(err)?;
        let mut out: Vec<Entry> = Vec::new();
        for r in rows {
            let e = r.map_err(err)?;
            if out.first().is_some_and(|f| f.envelope != e.envelope) {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// Deletes exactly these entries (after their `200`, EVT-43, EVT-46 step 5).
    pub fn delete(&mut self, seqs: &[i64]) -> anyhow::Result<()> {
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut st = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1").map_err(err)?;
            for s in seqs {
                st.execute([s]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn len(&self) -> anyhow::Result<usize> {
        self.conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(err)
    }

    pub fn is_empty(&self) -> anyhow::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Queues a loyalty `confirm` body (LOY-54); committed before this returns.
    pub fn push_confirm(&mut self, uid: &str, body: &str) -> anyhow::Result<()> {
        self.conn.execute("INSERT INTO loyalty_confirms (uid, body) VALUES (?1, ?2)", params![uid, body]).map_err(err)?;
        Ok(())
    }

    /// The oldest queued confirm: (seq, uid, body).
    pub fn confirm_head(&self) -> anyhow::Result<Option<(i64, String, String)>> {
        let mut st = self.conn.prepare_cached("SELECT seq, uid, body FROM loyalty_confirms ORDER BY seq LIMIT 1").map_err(err)?;
        let mut rows = st.query([]).map_err(err)?;
        match rows.next().map_err(err)? {
            Some(r) => Ok(Some((r.get(0).map_err(err)?, r.get(1).map_err(err)?, r.get(2).map_err(err)?))),
            None => Ok(None),
        }
    }

    pub fn delete_confirm(&mut self, seq: i64) -> anyhow::Result<()> {
        self.conn.execute("DELETE FROM loyalty_confirms WHERE seq = ?1", [seq]).map_err(err)?;
        Ok(())
    }

    pub fn confirms_len(&self) -> anyhow::Result<usize> {
        self.conn.query_row("SELECT count(*) FROM loyalty_confirms", [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const H: i64 = 3600 * 1000;

    fn env(wp: &str) -> Envelope {
        Envelope { organization: "o".into(), business_unit: "b".into(), work_place: wp.into() }
    }

    /// TV-E11, EVT-44, EVT-46 step 3: depth eviction when adding.
    #[test]
    fn tv_e11_eviction_keeps_the_entry_at_the_bound() {
        let mut q = Outbox::open(Path::new(":memory:")).unwrap();
        let t = 1_000 * H;
        assert_eq!(q.push(&env("w"), &json!({"n": 0}), t, 24 * H).unwrap(), 0);
        assert_eq!(q.push(&env("w"), &json!({"n": 1}), t + H, 24 * H).unwrap(), 0);
        assert_eq!(q.push(&env("w"), &json!({"n": 2}), t + 25 * H, 24 * H).unwrap(), 1);
        let left: Vec<i64> = q.head(10).unwrap().iter().map(|e| e.occurred_ms).collect();
        assert_eq!(left, [t + H, t + 25 * H]);
    }

    /// EVT-46 steps 1 and 4: FIFO, survives reopening, a batch never mixes envelopes.
    #[test]
    fn evt_46_fifo_durable_and_one_envelope_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.db");
        {
            let mut q = Outbox::open(&path).unwrap();
            for i in 0..5 {
                q.push(&env(if i < 3 { "a" } else { "b" }), &json!({"n": i}), i, H).unwrap();
            }
        }
        let mut q = Outbox::open(&path).unwrap();
        let head = q.head(500).unwrap();
        assert_eq!(head.iter().map(|e| e.event["n"].as_i64().unwrap()).collect::<Vec<_>>(), [0, 1, 2]);
        q.delete(&head.iter().map(|e| e.seq).collect::<Vec<_>>()).unwrap();
        let head = q.head(1).unwrap();
        assert_eq!(head[0].envelope.work_place, "b");
        assert_eq!(q.len().unwrap(), 2);
    }
}
