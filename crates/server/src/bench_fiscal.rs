//! `kassa bench fiscal --registers N`: fiscalization in one process against a temporary SQLite
//! data folder (durable: WAL, `synchronous=FULL`, group commit), then the SQLite durable-commit
//! ceiling measured in the same run on the same disk, printed side by side.
//!
//! Load: `--connections` concurrent callers, each registering cash sells through the core's
//! engine (`Engine::receipt`; with `--profile kz` cash-core tickets through `Engine::execute`,
//! each submitted to the OFD simulator first) on register `caller % N`, for `--duration` seconds
//! after a warm-up.
//! Every success was committed before it was counted.
//!
//! Ceilings: (1) single-row durable commits per second (one `INSERT` per transaction, the rate a
//! store without group commit could reach); (2) rows per second with batched transactions of
//! `--connections` rows each (the largest batch the writer can form with that many callers), each
//! row the size of a journal entry.

use crate::bench::BenchArgs;
use anyhow::Context;
use kassa_core::{Core, SystemClock};
use kassa_domain::fiscal::ru::{Item, Operation, Payment, Receipt};
use kassa_domain::provisioning::{GroupSpec, RegisterProfile, RegisterRole, RegisterSpec, TenantSpec};
use kassa_money::{Money, Quantity};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most registers a fiscal bench spreads its load over.
pub const MAX_REGISTERS: usize = 1024;

fn tenant(registers: usize, profile: RegisterProfile) -> TenantSpec {
    let mut t = TenantSpec::new("bench", "Bench");
    t.groups.push(GroupSpec {
        code: "B".into(),
        inn: "7701234567".into(),
        payment_address: "bench.ru".into(),
        sno: vec!["osn".into()],
    });
    for i in 0..registers {
        t.registers.push(RegisterSpec {
            id: format!("B{i:04}"),
            profile,
            group: Some("B".into()),
            role: RegisterRole::Main,
            fn_number: None,
            reg_number: None,
            ofd_id: (profile == RegisterProfile::Kz).then(|| format!("{}", 7000 + i)),
        });
    }
    t
}

fn sell(kopecks: i64) -> Receipt {
    Receipt {
        operation: Operation::Sell,
        items: vec![Item {
            name: "Товар".into(),
            price: Money::from_minor(kopecks),
            quantity: Quantity::ONE,
            sum: Money::from_minor(kopecks),
            tax: "vat20".into(),
            tax_sum: Money::ZERO,
            section: 1,
        }],
        payments: vec![Payment { kind: 0, sum: Money::from_minor(kopecks) }],
        total: Money::from_minor(kopecks),
        sno: None,
        service: None,
        cashier: None,
    }
}

/// A cash-core cash sell of `tiyn` (CORE-72: one commodity, cash).
fn kz_sell(tiyn: i64) -> kassa_domain::fiscal::Command {
    let sum = serde_json::Value::Number(Money::from_minor(tiyn).to_string().parse().unwrap_or_else(|_| 1.into()));
    let request = serde_json::json!({"command": "trade", "operation": 2,
        "items": [{"type": 1, "commodity": {"name": "Товар", "section_code": "1", "quantity": 1, "price": sum, "sum": sum,
            "measure_unit_code": "796", "taxes": []}}],
        "payments": [{"type": 0, "sum": sum}]});
    let request = serde_json::from_value(request).unwrap_or_else(|_| unreachable!("a well-formed trade request"));
    kassa_domain::fiscal::Command::Kz(kassa_domain::fiscal::kz::KzCommand::new(
        request,
        kassa_domain::kz::Caller { code: 1, name: "Bench".into() },
    ))
}

struct Load {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

async fn caller(core: Core, register: String, kz: bool, start: Instant, end: Instant) -> Load {
    let mut l = Load { ok: 0, failed: 0, latencies_us: Vec::new() };
    let mut k = 100i64;
    loop {
        let sent = Instant::now();
        if sent >= end {
            return l;
        }
        k = k % 99_900 + 1;
        let good = if kz {
            core.fiscal().execute(&register, kz_sell(k)).await.is_ok()
        } else {
            core.fiscal().receipt(&register, sell(k)).await.is_ok()
        };
        if sent >= start {
            if good {
                l.ok += 1;
                l.latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                l.failed += 1;
            }
        }
    }
}

/// Durable single-row commits per second and batched rows per second on a fresh file in `dir`.
fn sqlite_ceiling(dir: &std::path::Path, batch: usize, duration: Duration) -> anyhow::Result<(f64, f64)> {
    let conn = rusqlite::Connection::open(dir.join("ceiling.db"))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
    conn.execute_batch("PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT NOT NULL) STRICT;")?;
    // A row the size of a receipt's journal entry.
    let doc = "x".repeat(900);
    let mut ins = conn.prepare("INSERT INTO t (doc) VALUES (?1)")?;
    let end = Instant::now() + duration;
    let mut single = 0u64;
    while Instant::now() < end {
        ins.execute([&doc])?;
        single += 1;
    }
    let end = Instant::now() + duration;
    let mut rows = 0u64;
    while Instant::now() < end {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        for _ in 0..batch {
            ins.execute([&doc])?;
        }
        conn.execute_batch("COMMIT")?;
        rows += batch as u64;
    }
    let secs = duration.as_secs_f64();
    Ok((single as f64 / secs, rows as f64 / secs))
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let registers = args.registers;
    anyhow::ensure!((1..=MAX_REGISTERS).contains(&registers), "--registers must be 1–{MAX_REGISTERS}");
    let profile = RegisterProfile::parse(&args.profile).context("--profile must be ru or kz")?;
    let kz = profile == RegisterProfile::Kz;
    let dir = tempfile::tempdir().context("cannot create a temporary data folder")?;
    let path = dir.path().join(crate::DB_FILE);
    let store = tokio::task::spawn_blocking(move || kassa_store_sqlite::SqliteStore::open(&path)).await??;
    let store: Arc<dyn kassa_store::Store> = Arc::new(store);
    let core = Core::new(store.clone(), Arc::new(SystemClock));
    core.provisioning().apply(&tenant(registers, profile)).await?;
    let (warmup, duration) = (Duration::from_secs(args.warmup), Duration::from_secs(args.duration));
    eprintln!(
        "bench fiscal: {registers} register(s), {} concurrent callers, {} s warm-up + {} s, SQLite (WAL, synchronous=FULL) in {} ...",
        args.connections,
        args.warmup,
        args.duration,
        dir.path().display()
    );
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| tokio::spawn(caller(core.clone(), format!("B{:04}", i % registers), kz, start, end)))
        .collect();
    let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
    for t in tasks {
        let l = t.await?;
        ok += l.ok;
        failed += l.failed;
        lat.extend(l.latencies_us);
    }
    lat.sort_unstable();
    let pct = |p: usize| lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64 / 1000.0;
    let report = core.fiscal().verify().await?;
    store.close().await;
    eprintln!("measuring the SQLite durable-commit ceiling on the same disk ...");
    let batch = args.connections;
    let ceiling_dir = dir.path().to_owned();
    let (single, batched) = tokio::task::spawn_blocking(move || sqlite_ceiling(&ceiling_dir, batch, duration)).await??;
    let docs = ok as f64 / duration.as_secs_f64();
    println!("scenario fiscal, profile {}, {registers} register(s), {} callers, {} s", profile.as_str(), args.connections, args.duration);
    println!("  fiscal     {docs:>9.0} documents/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ok {ok:>8}   failed {failed}", pct(50), pct(99));
    println!("  ceiling    {single:>9.0} durable single-row commits/s");
    println!("  ceiling    {batched:>9.0} durable rows/s in transactions of {batch} rows");
    println!("  ratio      {:.2} of the single-commit ceiling, {:.2} of the batched ceiling", docs / single.max(1.0), docs / batched.max(1.0));
    match report.problem {
        None => println!("  journal    verified: {} entries, no problem", report.entries),
        Some(p) => anyhow::bail!("journal verification failed after the bench: {p}"),
    }
    Ok(())
}
