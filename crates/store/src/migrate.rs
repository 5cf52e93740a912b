//! The migration model shared by the backends.
//!
//! Each backend embeds its own ordered list of SQL migrations (its dialect differs) and records
//! the applied ones with a checksum in `kassa_migrations`. A stored checksum that differs from the
//! embedded one means a migration was edited after release: the store refuses to start.

use sha2::Digest;

#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(sha2::Sha256::digest(self.sql.as_bytes()))
    }
}

/// Checks a backend's list: versions strictly increasing from 1.
pub fn check_order(migrations: &[Migration]) -> Result<(), String> {
    for (i, m) in migrations.iter().enumerate() {
        if m.version != i as i64 + 1 {
            return Err(format!("migration '{}' has version {}, expected {}", m.name, m.version, i + 1));
        }
    }
    Ok(())
}

/// What to do given what the database already recorded: `Err` names the first mismatch.
pub fn pending<'a>(
    migrations: &'a [Migration],
    applied: &[(i64, String)],
) -> Result<Vec<&'a Migration>, String> {
    check_order(migrations)?;
    for (version, checksum) in applied {
        let Some(m) = migrations.iter().find(|m| m.version == *version) else {
            return Err(format!(
                "the database has migration {version}, which this build does not know: it was written by a newer Kassa"
            ));
        };
        if &m.checksum() != checksum {
            return Err(format!("migration {} '{}' was changed after it was applied", m.version, m.name));
        }
    }
    Ok(migrations.iter().filter(|m| !applied.iter().any(|(v, _)| *v == m.version)).collect())
}
