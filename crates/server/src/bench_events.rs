//! `kassa bench events`: the event collector under load — batches of 500 distinct events
//! (`POST /frontol/events`, each answered only once durable) on N keep-alive connections — and,
//! in the same run, the ceiling: SQLite's own durable batched insert on this machine (one
//! transaction of 500 rows into the same `events` table with a cached prepared statement,
//! WAL + `synchronous=FULL`, in a loop on one thread, keys spread like the real hashed keys).
//! Prints events per second of both.

use crate::bench::{BenchArgs, healthcheck};
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use sha2::Digest;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Events per request: the POS batch size (EVT-41).
pub const BATCH: usize = 500;

/// Request bodies of `BATCH` events no earlier request (of this run or another) carried. The
/// body is rendered once per connection; each request only rewrites the counter digits inside
/// every `groupId`, so the load generator spends its CPU on sending, not on formatting.
struct Bodies {
    template: Vec<u8>,
    /// Byte offsets of the 10 counter digits in each event's `groupId`.
    slots: Vec<usize>,
    /// Byte offsets of each event's `dateTime` value (29 bytes): requests move forward in time,
    /// as a POS's do.
    times: Vec<usize>,
    conn: usize,
    n: u64,
}

/// 2026-01-01T10:00:00.000+03:00.
const BENCH_EPOCH_MS: i64 = 1_767_250_800_000;

impl Bodies {
    fn new(run: u32, conn: usize) -> Self {
        let mut s = String::with_capacity(BATCH * 330);
        let mut slots = Vec::with_capacity(BATCH);
        let mut times = Vec::with_capacity(BATCH);
        let _ = write!(s, r#"{{"organization":"ООО Ромашка","businessUnit":"Бенчмарк","workPlace":"bench {conn}","events":["#);
        for i in 0..BATCH {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, r#"{{"event":"REG_POSITION_REGISTRATION","groupId":"{run:08x}{conn:04x}"#);
            slots.push(s.len());
            let _ = write!(s, r#"0000000000{i:03x}","dateTime":""#);
            times.push(s.len());
            let _ = write!(
                s,
                r#"2026-01-01T10:00:00.000+03:00","cashierName":"Иванов Иван Иванович","index":{i},"input":"","id":"542","text":"активия 125г клубника","type":"goods","barcode":"4601735000011","price":59.99,"quantity":2.000,"sum":119.98,"discount":0.00}}"#
            );
        }
        s.push_str("]}");
        Self { template: s.into_bytes(), slots, times, conn, n: 0 }
    }

    fn next(&mut self) -> Bytes {
        let digits = format!("{:010x}", self.n);
        let at_ms = BENCH_EPOCH_MS + i64::try_from(self.n).unwrap_or(0) * 1000 + i64::try_from(self.conn).unwrap_or(0);
        let time = kassa_domain::events::timestamp::format_ms(at_ms, 180);
        self.n += 1;
        let mut b = self.template.clone();
        for &at in &self.slots {
            b[at..at + 10].copy_from_slice(digits.as_bytes());
        }
        for &at in &self.times {
            b[at..at + 29].copy_from_slice(time.as_bytes());
        }
        Bytes::from(b)
    }
}

struct Measured {
    events: u64,
    failed: u64,
    latencies_us: Vec<u32>,
    seconds: f64,
}

impl Measured {
    fn per_second(&self) -> f64 {
        self.events as f64 / self.seconds
    }

    fn pct_ms(&self, p: usize) -> f64 {
        let l = &self.latencies_us;
        l.get((l.len() * p / 100).min(l.len().saturating_sub(1))).map_or(0.0, |v| f64::from(*v) / 1000.0)
    }
}

async fn connection(addr: SocketAddr, run: u32, conn: usize, start: Instant, end: Instant) -> anyhow::Result<(u64, u64, Vec<u32>)> {
    let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, c) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(c);
    let (mut events, mut failed, mut lat) = (0u64, 0u64, Vec::new());
    let host = addr.to_string();
    let mut bodies = Bodies::new(run, conn);
    loop {
        let b = bodies.next();
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri("/frontol/events")
            .header("host", &host)
            .header("content-type", "application/json")
            .body(Full::new(b))?;
        let ok = match sender.send_request(req).await {
            Ok(resp) => resp.status().is_success() & resp.into_body().collect().await.is_ok(),
            Err(_) => false,
        };
        if sent >= start {
            if ok {
                events += BATCH as u64;
                lat.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                failed += 1;
            }
        }
        if !ok && sender.ready().await.is_err() {
            break;
        }
    }
    Ok((events, failed, lat))
}

async fn drive(addr: SocketAddr, connections: usize, warmup: Duration, duration: Duration) -> anyhow::Result<Measured> {
    let run: u32 = rand::random();
    let start = Instant::now() + warmup;
    let end = start + duration;
    let tasks: Vec<_> = (0..connections).map(|c| tokio::spawn(connection(addr, run, c, start, end))).collect();
    let mut m = Measured { events: 0, failed: 0, latencies_us: Vec::new(), seconds: duration.as_secs_f64() };
    for t in tasks {
        let (e, f, l) = t.await.context("load task")??;
        m.events += e;
        m.failed += f;
        m.latencies_us.extend(l);
    }
    m.latencies_us.sort_unstable();
    Ok(m)
}

/// SQLite's durable batched-insert rate on this machine: the store's `events` table, 500 rows
/// per transaction (one fsync each), one thread, for `duration` after `warmup`.
fn sqlite_ceiling(warmup: Duration, duration: Duration, hashed_keys: bool) -> anyhow::Result<Measured> {
    let dir = tempfile_dir()?;
    let path = dir.join("ceiling.db");
    let conn = rusqlite::Connection::open(&path)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous=FULL;")?;
    conn.execute_batch(include_str!("../../store-sqlite/migrations/0005_events.sql"))?;
    let raw = r#"{"event":"REG_POSITION_REGISTRATION","groupId":"0000000000000000000000000","dateTime":"2026-01-01T10:00:00.000+03:00","cashierName":"Иванов Иван Иванович","index":0,"input":"","id":"542","text":"активия 125г клубника","type":"goods","barcode":"4601735000011","price":59.99,"quantity":2.000,"sum":119.98,"discount":0.00}"#;
    let start = Instant::now() + warmup;
    let end = start + duration;
    let (mut events, mut n, mut lat) = (0u64, 0u64, Vec::new());
    loop {
        let began = Instant::now();
        if began >= end {
            break;
        }
        let tx = conn.unchecked_transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO events (dedup_key, tenant_id, batch_code, received_at, position, organization, business_unit,
                     work_place, group_id, event, event_group, occurred_at, raw, fields, warnings, flags)
                 VALUES (?1, 'demo', 'code', 0, ?2, 'ООО Ромашка', 'Бенчмарк', 'ceiling', ?3, 'REG_POSITION_REGISTRATION',
                     'registration', 1767250800000, ?4, ?4, '[]', '[]') ON CONFLICT (dedup_key) DO NOTHING",
            )?;
            for i in 0..BATCH {
                // Real keys: instant + hash; events of one instant spread over its part of the
                // unique index. Keys in insertion order only append (the optimistic bound).
                let seq = n * BATCH as u64 + i as u64;
                let key = if hashed_keys {
                    // The server's key shape: occurrence instant, then 128 bits of hash.
                    let at = (BENCH_EPOCH_MS + i64::try_from(n).unwrap_or(0) * 1000) as u64 ^ (1 << 63);
                    format!("{at:016x}{}", hex::encode(&sha2::Sha256::digest(seq.to_le_bytes())[..16]))
                } else {
                    format!("{seq:048x}")
                };
                st.execute(rusqlite::params![key, i as i64, &key[..25], raw])?;
            }
        }
        tx.commit()?;
        n += 1;
        if began >= start {
            events += BATCH as u64;
            lat.push(u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort_unstable();
    Ok(Measured { events, failed: 0, latencies_us: lat, seconds: duration.as_secs_f64() })
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("kassa-bench-ceiling-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn line(name: &str, m: &Measured) -> String {
    format!(
        "  {name:<9} {:>9.0} events/s   p50 {:>7.2} ms   p99 {:>7.2} ms   per batch of {BATCH}   failed {}",
        m.per_second(),
        m.pct_ms(50),
        m.pct_ms(99),
        m.failed
    )
}

pub async fn run(addr: SocketAddr, args: &BenchArgs) -> anyhow::Result<()> {
    if !healthcheck(&args.url).await {
        bail!("no Kassa server answers {}/healthz: start one with `kassa serve` first", args.url.trim_end_matches('/'));
    }
    let (warmup, duration) = (Duration::from_secs(args.warmup), Duration::from_secs(args.duration));
    eprintln!(
        "bench events: batches of {BATCH}, {} connections, {} s warm-up + {} s against {} ...",
        args.connections, args.warmup, args.duration, args.url
    );
    let scenario = drive(addr, args.connections, warmup, duration).await?;
    eprintln!("measuring the ceiling (SQLite durable batched insert of {BATCH} rows, same table, one thread) ...");
    let ceiling = tokio::task::spawn_blocking(move || sqlite_ceiling(warmup, duration, true)).await??;
    let sequential = tokio::task::spawn_blocking(move || sqlite_ceiling(warmup, duration, false)).await??;
    println!("scenario Events, {} connections, {} s", args.connections, args.duration);
    println!("{}", line("scenario", &scenario));
    println!("{}", line("ceiling", &ceiling));
    println!("{}", line("ceiling*", &sequential));
    println!("  ratio     {:.2} of the ceiling (hashed keys, as the server stores them)", scenario.per_second() / ceiling.per_second().max(1.0));
    println!("  ratio*    {:.2} of the optimistic ceiling* (keys in insertion order)", scenario.per_second() / sequential.per_second().max(1.0));
    if scenario.failed > 0 {
        eprintln!("warning: {} requests failed or were not 2xx", scenario.failed);
    }
    Ok(())
}
