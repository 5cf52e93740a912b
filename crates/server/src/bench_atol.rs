//! `kassa bench atol-e2e --registers N`: ATOL Online end to end in one process. A server is
//! started on a temporary SQLite data folder with a bench tenant (one group, N main registers,
//! one ATOL login) and its workers (the dispatcher over the fiscal engine); `--connections`
//! keep-alive clients post sells over loopback for `--duration` seconds; then the queue is left
//! to drain. The figure is documents accepted → `done` per second (from the first request to the
//! last document done), printed beside the acceptance rate and the HTTP JSON-parse ceiling
//! measured in the same run with the same client. The journals are verified at the end.

use crate::bench::{BenchArgs, Shot, UNIQUE, drive, line, post_json, start_ceiling};
use crate::config::Config;
use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use kassa_domain::provisioning::{AtolLogin, GroupSpec, RegisterProfile, RegisterRole, RegisterSpec, TenantSpec};
use std::time::{Duration, Instant};

/// Longest wait for the queue to drain after the load.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

const GROUP: &str = "Bench_Group";

/// The bench tenant: one group with `registers` main registers and the login `bench`.
pub fn tenant(registers: usize) -> TenantSpec {
    let mut t = TenantSpec::new("atol-bench", "ATOL bench");
    t.groups.push(GroupSpec {
        code: GROUP.into(),
        inn: "331122667723".into(),
        payment_address: "magazin.ru".into(),
        sno: vec!["osn".into()],
    });
    t.atol_logins.push(AtolLogin { login: "bench".into(), pass: "bench-pass".into(), groups: vec![GROUP.into()] });
    for i in 0..registers {
        t.registers.push(RegisterSpec {
            id: format!("ATOL-B{i:04}"),
            profile: RegisterProfile::Ru,
            group: Some(GROUP.into()),
            role: RegisterRole::Main,
            fn_number: None,
            reg_number: None,
            ofd_id: None,
        });
    }
    t
}

pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let registers = args.registers;
    anyhow::ensure!((1..=crate::bench_fiscal::MAX_REGISTERS).contains(&registers), "--registers must be 1–1024");
    let dir = tempfile::tempdir().context("cannot create a temporary data folder")?;
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse()?;
    config.server.data_dir = dir.path().to_owned();
    config.server.admin_token = Some("bench-admin-token-0123456789".into());
    config.server.metrics_listen = None;
    config.tenants.push(tenant(registers));
    let app = crate::Application::build(config).await?;
    let addr = app.addr();
    let core = app.core().clone();
    let stop = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());

    let answer = post_json(addr, "/possystem/v3/getToken", r#"{"login":"bench","pass":"bench-pass"}"#).await?;
    let token = answer["token"].as_str().filter(|t| !t.is_empty()).with_context(|| format!("getToken failed: {answer}"))?;
    let body = crate::bench::ATOL_SELL.replace("17052917561851307", UNIQUE);
    let shot = Shot {
        method: Method::POST,
        path: format!("/possystem/v3/{GROUP}/sell?tokenid={token}"),
        headers: vec![],
        body: Some(Bytes::from(body)),
        unique: Some(UNIQUE),
        frontol_key: None,
    };
    let duration = Duration::from_secs(args.duration);
    eprintln!(
        "bench atol-e2e: {registers} register(s), {} connections, {} s of sells, then the queue drains; SQLite in {} ...",
        args.connections,
        args.duration,
        dir.path().display()
    );
    let started = Instant::now();
    // No warm-up: every accepted document counts towards the done figure.
    let accepted = drive(addr, &shot, args.connections, Duration::ZERO, duration).await?;
    let load_end = started.elapsed();
    let drain_deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        let queued: i64 = core.store.atol_queued_groups(i64::MAX).await?.iter().map(|g| g.2).sum();
        let in_progress = core.store.atol_in_progress(1).await?.len();
        if queued == 0 && in_progress == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < drain_deadline, "the queue did not drain within {DRAIN_LIMIT:?} ({queued} queued)");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    let failed = core
        .store
        .atol_documents(&kassa_store::atol::AtolFilter { tenant_id: None, group_code: None, state: Some("failed".into()), limit: 1 })
        .await?;
    anyhow::ensure!(failed.is_empty(), "a document failed: {:?}", failed[0].error);
    let mut receipts = 0u64;
    for i in 0..registers {
        let id = format!("ATOL-B{i:04}");
        let mut after = 0;
        loop {
            let page = core.fiscal().journal(&id, after, kassa_core::fiscal::MAX_JOURNAL_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            receipts += page.iter().filter(|e| e.kind == "receipt").count() as u64;
        }
    }
    anyhow::ensure!(receipts == accepted.ok, "{} accepted but {receipts} receipts in the journals", accepted.ok);
    let report = core.fiscal().verify().await?;
    stop.cancel();
    server.await??;

    eprintln!("measuring the ceiling (in-process minimal endpoint, same client and settings) ...");
    let (ceiling_addr, stop) = start_ceiling().await?;
    let ceiling_shot = Shot { path: "/ceiling".into(), headers: vec![], ..shot };
    let ceiling = drive(ceiling_addr, &ceiling_shot, args.connections, Duration::from_secs(args.warmup), duration).await?;
    stop.cancel();
    let done_rate = receipts as f64 / total.as_secs_f64();
    println!("scenario atol-e2e, {registers} register(s), {} connections, {} s", args.connections, args.duration);
    println!("{}", line("accepted", &accepted));
    println!(
        "  done      {done_rate:>9.0} documents/s accepted → done ({receipts} documents in {:.2} s; load {:.2} s, drain {:.2} s)",
        total.as_secs_f64(),
        load_end.as_secs_f64(),
        (total - load_end).as_secs_f64()
    );
    println!("{}", line("ceiling", &ceiling));
    println!("  ratio     {:.2} of the ceiling (done), {:.2} (accepted)", done_rate / ceiling.rps().max(1.0), accepted.rps() / ceiling.rps().max(1.0));
    match report.problem {
        None => println!("  journal   verified: {} register(s), {} entries, no problem", report.registers, report.entries),
        Some(p) => anyhow::bail!("journal verification failed after the bench: {p}"),
    }
    Ok(())
}

/// The store's own ceiling for `atol-sell`: the acceptance write alone — the same document row
/// (fresh uuid and `external_id`), the same schema and indexes, the same group commit — stored
/// durably by `callers` concurrent tasks into the SQLite store on a temporary folder, with no
/// HTTP, no parsing and no validation. What the face can reach on this disk and CPU.
pub async fn store_ceiling(callers: usize, warmup: Duration, duration: Duration) -> anyhow::Result<crate::bench::Measured> {
    use kassa_store::atol::{AtolInsert, AtolStore, NewAtolDocument};
    let dir = tempfile::tempdir().context("cannot create a temporary data folder")?;
    let store = kassa_store_sqlite::SqliteStore::open(&dir.path().join("ceiling.db"))?;
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut tasks = Vec::with_capacity(callers);
    for c in 0..callers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut latencies, mut n) = (0u64, Vec::new(), 0u64);
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                n += 1;
                let external_id = format!("store-{c}-{n}");
                let row = NewAtolDocument {
                    uuid: kassa_core::ids::IdGen::uuid(&kassa_core::ids::RandomIds),
                    tenant_id: "demo".into(),
                    group_code: "MyCompany_MyShop".into(),
                    operation: "sell".into(),
                    body: crate::bench::ATOL_SELL.replace("17052917561851307", &external_id),
                    external_id: Some(external_id),
                    state: "queued".into(),
                    timestamp: "29.05.2017 17:56:18".into(),
                    callback_url: String::new(),
                    error: None,
                    now_ms: kassa_core::clock::Clock::now_ms(&kassa_core::clock::SystemClock),
                };
                let stored = store.atol_insert_documents(std::slice::from_ref(&row)).await?;
                anyhow::ensure!(stored == [AtolInsert::Stored], "the store did not take a fresh document: {stored:?}");
                if sent >= start {
                    ok += 1;
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
            }
            anyhow::Ok((ok, latencies))
        }));
    }
    let (mut ok, mut latencies) = (0u64, Vec::new());
    for t in tasks {
        let (o, l) = t.await.context("store task")??;
        ok += o;
        latencies.extend(l);
    }
    kassa_store::Store::close(&store).await;
    Ok(crate::bench::Measured::from_latencies(ok, 0, duration, latencies))
}
