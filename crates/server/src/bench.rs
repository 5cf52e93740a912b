//! `kassa bench SCENARIO`: drive a running server over loopback with N keep-alive connections
//! for T seconds, then measure this machine's HTTP ceiling in the same run — a minimal
//! in-process endpoint on the same stack (tokio, hyper, axum) that parses the scenario's JSON
//! body and answers a fixed response — with the same client and settings, and print both.
//!
//! Loads go only to loopback addresses, and both the connection count and the duration are
//! bounded.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const MAX_CONNECTIONS: usize = 1024;
pub const MAX_SECONDS: u64 = 300;
pub const MAX_ROUNDS: u32 = 20;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Scenario {
    /// GET /healthz.
    Healthz,
    /// ATOL Online sell acceptance (`POST /possystem/v3/MyCompany_MyShop/sell`, durable) against
    /// a server started with `--demo`; every request has a fresh `external_id`.
    AtolSell,
    /// Fiscalization in process on a temporary SQLite store (`--registers N`); no server needed.
    Fiscal,
    /// POST /frontol/events: batches of 500 distinct events, durable (see `bench_events`).
    Events,
    /// POST /frontol/document `calculate` (the spec's precheck, demo card, signed): rules, a
    /// snapshot read and the durable audit record of every request (LOY-56).
    LoyaltyCalculate,
    /// POST /frontol/document `confirm` of a new sale per request (demo card, signed): accrual
    /// entry, document and audit record in one durable commit.
    LoyaltyConfirm,
    /// ATOL Online accepted → done per second over `--registers N` registers of one group, in
    /// process (server, dispatcher and engine on a temporary SQLite store); no server needed.
    AtolE2e,
}

#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    pub scenario: Scenario,
    /// Base URL of the running server (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Keep-alive connections (1–1024).
    #[arg(long, short = 'c', default_value_t = 64)]
    pub connections: usize,
    /// Seconds of measured load per phase (1–300).
    #[arg(long, short = 'd', default_value_t = 10)]
    pub duration: u64,
    /// Seconds of unmeasured warm-up before each phase.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// `healthz`, `loyalty-*`: measure ceiling and scenario this many times, alternately, and
    /// report the median of the rounds' ratios (1–20). The host's speed can drift between two
    /// phases minutes apart; alternating phases of a few seconds lets each ratio compare
    /// like with like.
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// `fiscal`: registers the load is spread over.
    #[arg(long, default_value_t = 16)]
    pub registers: usize,
    /// `fiscal`: register profile, `ru` (54-FZ receipts) or `kz` (cash-core tickets, each submitted
    /// to the built-in OFD simulator before it is committed).
    #[arg(long, default_value = "ru")]
    pub profile: String,
}

/// One request shape, sent over and over.
#[derive(Clone, Debug)]
pub struct Shot {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// A marker in `body` replaced by a value unique to each request (e.g. an `external_id`).
    pub unique: Option<&'static str>,
    /// Sign each body with this Frontol access key (`Authorization: FrontolAuth md5(key ‖ body)`).
    pub frontol_key: Option<&'static str>,
}

/// The marker of the ATOL sell body's `external_id`.
pub(crate) const UNIQUE: &str = "@@UNIQUE@@";

impl Scenario {
    /// The request of the scenario; `atol-sell` first asks the server for a token.
    async fn shot(self, addr: SocketAddr) -> anyhow::Result<Shot> {
        Ok(match self {
            Scenario::Healthz | Scenario::Fiscal | Scenario::AtolE2e => Shot { method: Method::GET, path: "/healthz".into(), headers: vec![], body: None, unique: None, frontol_key: None },
            // The events scenario varies its bodies (`bench_events`); this fixed shot is its ceiling probe.
            Scenario::Events => Shot {
                method: Method::POST,
                path: "/frontol/events".into(),
                headers: vec![],
                body: Some(Bytes::from_static(br#"{"organization":"o","businessUnit":"b","workPlace":"w","events":[]}"#)),
                unique: None,
                frontol_key: None,
            },
            Scenario::LoyaltyCalculate => Shot {
                method: Method::POST,
                path: "/frontol/document".into(),
                headers: vec![],
                body: Some(Bytes::from_static(LOYALTY_CALCULATE.as_bytes())),
                unique: Some("{seq}"),
                frontol_key: Some("password"),
            },
            Scenario::LoyaltyConfirm => Shot {
                method: Method::POST,
                path: "/frontol/document".into(),
                headers: vec![],
                body: Some(Bytes::from_static(LOYALTY_CONFIRM.as_bytes())),
                unique: Some("{seq}"),
                frontol_key: Some("password"),
            },
            Scenario::AtolSell => {
                let answer = post_json(addr, "/possystem/v3/getToken", r#"{"login":"netletest","pass":"v2AfscRjr"}"#).await?;
                let token = answer["token"].as_str().filter(|t| !t.is_empty()).with_context(|| {
                    format!("getToken for the demo login failed ({answer}); start the server with --demo")
                })?;
                Shot {
                    method: Method::POST,
                    path: format!("/possystem/v3/MyCompany_MyShop/sell?tokenid={token}"),
                    headers: vec![],
                    body: Some(Bytes::from(ATOL_SELL.replace("17052917561851307", UNIQUE))),
                    unique: Some(UNIQUE),
                    frontol_key: None,
                }
            }
        })
    }
}

/// The spec's EX-CALC-REQ for the demo card, with a unique `uid`.
const LOYALTY_CALCULATE: &str = r#"{"action":"calculate","dateTime":"2017-10-09T18:31:42.201+0300","organization":"ООО Ромашка","businessUnit":"Магазин на ул. Ленина","workPlace":"POS 12","client":{"card":"9070000000001000"},"number":12346,"shift":23,"uid":"bench-calc-{seq}","type":"receipt","positions":[{"index":1,"id":"120474","text":"Радиоуправляемый Квадрокоптер","price":2500.00,"minimumPrice":1000.00,"quantity":2.000,"totalAmount":4000.00},{"index":2,"id":"aa234","text":"Ваф. трубочки Вереск крем-брюле 200г на фруктозе","price":54.20,"minimumPrice":0.00,"quantity":2.000,"totalAmount":100.00},{"index":3,"id":"70259","text":"Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы","price":780.90,"minimumPrice":700.00,"quantity":0.732,"totalAmount":571.62}]}"#;

/// The spec's EX-CONFIRM-REQ for the demo card without the bonus payment, a new sale each time.
const LOYALTY_CONFIRM: &str = r#"{"action":"confirm","dateTime":"2017-10-09T18:31:42.201+0300","organization":"ООО Ромашка","businessUnit":"Магазин на ул. Ленина","workPlace":"POS 12","client":{"card":"9070000000001000"},"number":12346,"shift":23,"uid":"bench-sale-{seq}","type":"receipt","positions":[{"index":1,"id":"120474","text":"Радиоуправляемый Квадрокоптер","price":2500.00,"minimumPrice":1000.00,"quantity":2.000,"totalAmount":2909.12},{"index":2,"id":"aa234","text":"Ваф. трубочки Вереск крем-брюле 200г на фруктозе","price":54.20,"minimumPrice":0.00,"quantity":2.000,"totalAmount":0.00},{"index":3,"id":"70259","text":"Колбаса Майкопская с/к в/с ГОСТ Дмитровские колбасы","price":780.90,"minimumPrice":700.00,"quantity":0.732,"totalAmount":512.40}],"discardedAmount":0.52,"payments":[{"type":"other","mode":"nonFiscal","amount":600.00},{"type":"cash","mode":"fiscal","amount":3000.00},{"type":"creditCard","mode":"fiscal","amount":421.00}]}"#;

/// The base receipt S of atol-online-v3.md §13.1.
pub(crate) const ATOL_SELL: &str = r#"{"external_id":"17052917561851307","receipt":{"attributes":{"email":"sample@gmail.ru","phone":"","sno":"osn"},"items":[{"name":"Название товара 1","price":5000.0,"quantity":1.0,"sum":5000.00,"tax":"vat10","tax_sum":454.55},{"name":" Название товара 2","price":1456.21,"quantity":2.0,"sum":2612.42,"tax":"vat118"}],"payments":[{"sum":7612,"type":1}],"total":7612},"service":{"callback_url":"","inn":"331122667723","payment_address":"magazin.ru"},"timestamp":"29.05.2017 17:56:18"}"#;

/// One POST with a JSON body; the decoded answer.
pub(crate) async fn post_json(addr: SocketAddr, path: &str, body: &str) -> anyhow::Result<serde_json::Value> {
    let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder().method(Method::POST).uri(path).header("host", addr.to_string())
        .body(Full::new(Bytes::from(body.to_owned())))?;
    let resp = sender.send_request(req).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}

/// What one phase measured.
#[derive(Clone, Debug)]
pub struct Measured {
    pub ok: u64,
    pub failed: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Measured {
    /// A phase of `duration` from its counts and its successful requests' latencies (µs).
    pub fn from_latencies(ok: u64, failed: u64, duration: Duration, mut latencies: Vec<u32>) -> Self {
        latencies.sort_unstable();
        let pct = |p: usize| latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1))).copied();
        Measured {
            ok,
            failed,
            seconds: duration.as_secs_f64(),
            p50_ms: pct(50).unwrap_or(0) as f64 / 1000.0,
            p99_ms: pct(99).unwrap_or(0) as f64 / 1000.0,
        }
    }

    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }
}

fn loopback_addr(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.strip_prefix("http://").context("the URL must start with http://")?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let addr: SocketAddr = host_port
        .parse()
        .or_else(|_| host_port.replacen("localhost", "127.0.0.1", 1).parse())
        .with_context(|| format!("'{host_port}' is not an IP address and port"))?;
    if !addr.ip().is_loopback() {
        bail!("kassa bench sends load only to loopback addresses, not {}", addr.ip());
    }
    Ok(addr)
}

/// Sends `shot` on `connections` keep-alive connections for `duration`, after `warmup`.
pub async fn drive(addr: SocketAddr, shot: &Shot, connections: usize, warmup: Duration, duration: Duration) -> anyhow::Result<Measured> {
    let (ok, failed, latencies) = drive_counts(addr, shot, connections, warmup, duration).await?;
    Ok(Measured::from_latencies(ok, failed, duration, latencies))
}

/// [`drive`]'s raw counts: successes, failures and the successes' latencies (µs).
async fn drive_counts(addr: SocketAddr, shot: &Shot, connections: usize, warmup: Duration, duration: Duration) -> anyhow::Result<Counts> {
    let start = Instant::now() + warmup;
    let end = start + duration;
    let mut tasks = Vec::with_capacity(connections);
    // Unique values differ between runs and connections: `<run>-<connection>-<n>`.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    for c in 0..connections {
        let shot = shot.clone();
        let prefix = format!("{run}-{c}");
        tasks.push(tokio::spawn(async move { connection_loop(addr, shot, start, end, prefix).await }));
    }
    let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
    for t in tasks {
        let (o, f, l) = t.await.context("load task")??;
        ok += o;
        failed += f;
        latencies.extend(l);
    }
    Ok((ok, failed, latencies))
}

type Counts = (u64, u64, Vec<u32>);

/// The phases of all rounds of one kind, added up.
#[derive(Default)]
struct Total {
    ok: u64,
    failed: u64,
    latencies: Vec<u32>,
    seconds: Duration,
}

impl Total {
    /// Adds a phase of `duration`; returns its requests per second.
    fn add(&mut self, (ok, failed, latencies): Counts, duration: Duration) -> f64 {
        self.ok += ok;
        self.failed += failed;
        self.latencies.extend(latencies);
        self.seconds += duration;
        ok as f64 / duration.as_secs_f64()
    }

    fn measured(self) -> Measured {
        Measured::from_latencies(self.ok, self.failed, self.seconds, self.latencies)
    }
}

/// The median of the rounds' ratios (the mean of the middle two for an even count).
fn median(mut ratios: Vec<f64>) -> f64 {
    ratios.sort_unstable_by(f64::total_cmp);
    match ratios.len() {
        0 => 0.0,
        n if n % 2 == 1 => ratios[n / 2],
        n => (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0,
    }
}

async fn connection_loop(addr: SocketAddr, shot: Shot, start: Instant, end: Instant, prefix: String) -> anyhow::Result<(u64, u64, Vec<u32>)> {
    let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let (mut ok, mut failed, mut latencies) = (0u64, 0u64, Vec::new());
    let host = addr.to_string();
    let mut n = 0u64;
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let mut req = Request::builder().method(shot.method.clone()).uri(&shot.path).header("host", &host);
        for (k, v) in &shot.headers {
            req = req.header(k, v);
        }
        if shot.body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = match (shot.unique, &shot.body) {
            (Some(marker), Some(b)) => {
                n += 1;
                Bytes::from(String::from_utf8_lossy(b).replace(marker, &format!("{prefix}-{n}")))
            }
            _ => shot.body.clone().unwrap_or_default(),
        };
        if let Some(key) = shot.frontol_key {
            req = req.header("authorization", format!("FrontolAuth {}", kassa_domain::loyalty::auth::token(key, &body)));
        }
        let req = req.body(Full::new(body))?;
        let good = match sender.send_request(req).await {
            Ok(resp) => {
                let success = resp.status().is_success();
                // A protocol answer with a non-zero `code` is a failure too (Frontol, LOY-7).
                match resp.into_body().collect().await {
                    Ok(b) => success && (shot.frontol_key.is_none() || is_code_zero(&b.to_bytes())),
                    Err(_) => false,
                }
            }
            Err(_) => false,
        };
        if sent >= start {
            if good {
                ok += 1;
                latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            } else {
                failed += 1;
            }
        }
        if !good && sender.ready().await.is_err() {
            break;
        }
    }
    Ok((ok, failed, latencies))
}

/// A JSON body whose `code` is absent or 0. Only `code` is built; the rest of the body is
/// skipped, so checking an answer costs the client little more for a long answer than for the
/// ceiling's short one (the two phases should differ in the server, not in the client).
fn is_code_zero(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Code {
        code: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Code>(body).map(|b| b.code.is_none_or(|c| c == 0)).unwrap_or(true)
}

/// The ceiling: a minimal endpoint on the same stack that parses the same JSON body (when there
/// is one) and answers a fixed response. Returns its address and a handle that stops it.
pub(crate) async fn start_ceiling() -> anyhow::Result<(SocketAddr, tokio_util::sync::CancellationToken)> {
    use axum::routing::any;
    async fn fixed(body: Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        if !body.is_empty() && serde_json::from_slice::<serde_json::Value>(&body).is_err() {
            return (axum::http::StatusCode::BAD_REQUEST, "bad json").into_response();
        }
        ([(axum::http::header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let app = axum::Router::new().fallback(any(fixed));
    let s = stop.clone();
    tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(s.cancelled_owned()).await });
    Ok((addr, stop))
}

pub(crate) fn line(name: &str, m: &Measured) -> String {
    format!(
        "  {name:<9} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ok {:>8}   failed {}",
        m.rps(),
        m.p50_ms,
        m.p99_ms,
        m.ok,
        m.failed
    )
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if !(1..=MAX_CONNECTIONS).contains(&args.connections) {
        bail!("--connections must be 1–{MAX_CONNECTIONS}");
    }
    if !(1..=MAX_SECONDS).contains(&args.duration) || args.warmup > MAX_SECONDS {
        bail!("--duration must be 1–{MAX_SECONDS} seconds and --warmup at most {MAX_SECONDS}");
    }
    if !(1..=MAX_ROUNDS).contains(&args.rounds) {
        bail!("--rounds must be 1–{MAX_ROUNDS}");
    }
    if args.rounds > 1 && !matches!(args.scenario, Scenario::Healthz | Scenario::LoyaltyCalculate | Scenario::LoyaltyConfirm) {
        bail!(
            "--rounds applies to healthz and the loyalty scenarios; {:?} measures its ceiling once, before the load \
             (atol-sell leaves documents to fiscalize that would load a later ceiling)",
            args.scenario
        );
    }
    if let Scenario::Fiscal = args.scenario {
        return crate::bench_fiscal::run(&args).await;
    }
    if let Scenario::AtolE2e = args.scenario {
        return crate::bench_atol::run(&args).await;
    }
    let addr = loopback_addr(&args.url)?;
    if let Scenario::Events = args.scenario {
        return crate::bench_events::run(addr, &args).await;
    }
    let (warmup, duration) = (Duration::from_secs(args.warmup), Duration::from_secs(args.duration));
    if !healthcheck(&args.url).await {
        bail!("no Kassa server answers {}/healthz: start one with `kassa serve` first", args.url.trim_end_matches('/'));
    }
    let shot = args.scenario.shot(addr).await?;
    eprintln!(
        "bench {:?}: {} connections, {} round(s) of {} s warm-up + {} s for the ceiling, then for the scenario against {} ...",
        args.scenario, args.connections, args.rounds, args.warmup, args.duration, args.url
    );
    let (ceiling_addr, stop) = start_ceiling().await?;
    let ceiling_shot = Shot { path: "/ceiling".into(), headers: vec![], ..shot.clone() };
    let (mut ceiling, mut scenario, mut store) = (Total::default(), Total::default(), None);
    let mut ratios = Vec::new();
    for round in 1..=args.rounds {
        // Each round's ceiling first, while the server is idle: after the load it may still be
        // working off what it accepted (the ATOL queue), which would lower it.
        eprintln!("measuring the ceiling (in-process minimal endpoint, same client and settings) ...");
        let c = ceiling.add(drive_counts(ceiling_addr, &ceiling_shot, args.connections, warmup, duration).await?, duration);
        if let Scenario::AtolSell = args.scenario {
            eprintln!("measuring the store's ceiling (the same acceptance rows, SQLite on a temporary folder, no HTTP) ...");
            store = Some(crate::bench_atol::store_ceiling(args.connections, warmup, duration).await?);
        }
        eprintln!("the scenario ...");
        let s = scenario.add(drive_counts(addr, &shot, args.connections, warmup, duration).await?, duration);
        let ratio = s / c.max(1.0);
        if args.rounds > 1 {
            eprintln!("round {round}/{}: scenario {s:.0} req/s, ceiling {c:.0} req/s, ratio {ratio:.2}", args.rounds);
        }
        ratios.push(ratio);
    }
    stop.cancel();
    let (ceiling, scenario) = (ceiling.measured(), scenario.measured());
    println!("scenario {:?}, {} connections, {} round(s) of {} s", args.scenario, args.connections, args.rounds, args.duration);
    println!("{}", line("scenario", &scenario));
    println!("{}", line("ceiling", &ceiling));
    if let Some(store) = &store {
        println!("{}", line("store", store));
    }
    let each = if args.rounds > 1 {
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        format!(" (median of the rounds: {})", each.join(" "))
    } else {
        String::new()
    };
    println!("  ratio     {:.2} of the ceiling{each}", median(ratios));
    if let Some(store) = &store {
        println!("  ratio     {:.2} of the store's durable acceptance alone", scenario.rps() / store.rps().max(1.0));
    }
    if scenario.failed > 0 {
        eprintln!("warning: {} requests failed or were not 2xx", scenario.failed);
    }
    Ok(())
}

/// `GET {url}/healthz` answers 200 within 2 seconds.
pub async fn healthcheck(url: &str) -> bool {
    let Ok(addr) = loopback_addr(url).or_else(|_| {
        url.strip_prefix("http://").and_then(|r| r.split('/').next()).unwrap_or_default().parse::<SocketAddr>()
            .map_err(anyhow::Error::from)
    }) else {
        return false;
    };
    let shot = Shot { method: Method::GET, path: "/healthz".into(), headers: vec![], body: None, unique: None, frontol_key: None };
    let probe = async {
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.ok()?;
        tokio::spawn(conn);
        let req = Request::builder().method(shot.method).uri(shot.path).header("host", addr.to_string())
            .body(Full::new(Bytes::new())).ok()?;
        let resp = sender.send_request(req).await.ok()?;
        Some(resp.status().is_success())
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), probe).await, Ok(Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_the_rounds() {
        assert_eq!(median(vec![0.5, 0.1, 0.3]), 0.3);
        assert_eq!(median(vec![0.4, 0.1, 0.3, 0.2]), 0.25);
        assert_eq!(median(vec![0.7]), 0.7);
    }

    #[test]
    fn rounds_add_up_to_one_measurement() {
        let mut t = Total::default();
        assert_eq!(t.add((100, 1, vec![10; 100]), Duration::from_secs(2)), 50.0);
        assert_eq!(t.add((300, 0, vec![30; 300]), Duration::from_secs(2)), 150.0);
        let m = t.measured();
        assert_eq!((m.ok, m.failed, m.seconds), (400, 1, 4.0));
        assert_eq!(m.rps(), 100.0);
        assert_eq!(m.p50_ms, 0.03);
    }
}
