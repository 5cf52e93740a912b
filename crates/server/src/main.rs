//! The `kassa` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kassa::config::{Config, EXAMPLE, Overrides};
use kassa::{Application, bench, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: allocation was a quarter of the server's CPU under load
/// (`perf` on `kassa bench loyalty-calculate`); see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kassa", version, about = "One self-hosted server for five retail protocols: ATOL Online v3, ITKassa, KZ cash core 2.0.2, Frontol loyalty and Frontol events.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded SQLite in ./kassa-data unless --database-url is given).
    Serve(Overrides),
    /// Print an example configuration or check a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Fiscal journal tools.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Drive a running server with load and compare with this machine's HTTP ceiling.
    Bench(bench::BenchArgs),
    /// Simulate a Frontol cash desk: make sales and send their events (frontol-events.md)
    /// through a durable outbox queue, for demos and load.
    Pos(kassa_pos::PosArgs),
    /// Exit 0 when the server at URL answers /healthz (for container health checks).
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Recompute every register's hash chain, fiscal signs, numbering and counters; report the
    /// first bad entry and exit non-zero (store chosen as for `serve`: --data-dir or --database-url).
    Verify(Overrides),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
    /// Check a configuration file: unknown keys and bad values are reported by name.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kassa: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(overrides) => {
            let config = Config::resolve(&overrides)?;
            telemetry::init(config.server.log_format, &config.server.log_level)?;
            runtime()?.block_on(serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { command: ConfigCommand::Example } => {
            print!("{EXAMPLE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { command: ConfigCommand::Check { file } } => {
            let config = Config::load(&file)?;
            println!("{}: ok ({} tenant(s))", file.display(), config.tenants.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Journal { command: JournalCommand::Verify(overrides) } => {
            let config = Config::resolve(&overrides)?;
            let report = runtime()?.block_on(kassa::verify_journal(&config.server))?;
            match &report.problem {
                None => {
                    println!("journal verified: {} register(s), {} entries, no problem found", report.registers, report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(p) => {
                    println!("journal verification FAILED after {} good entries: {p}", report.entries);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Bench(args) => {
            runtime()?.block_on(bench::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pos(args) => {
            telemetry::init(kassa::config::LogFormat::Text, "warn")?;
            runtime()?.block_on(kassa_pos::run(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url } => {
            let healthy = runtime()?.block_on(bench::healthcheck(&url));
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let backend = if config.server.database_url.is_some() { "postgres" } else { "sqlite" };
    let app = Application::build(config).await?;
    let stop = app.shutdown_token();
    tokio::spawn(async move {
        kassa::shutdown_signal().await;
        stop.cancel();
    });
    tracing::info!(listen = %app.addr(), metrics = ?app.metrics_addr(), store = backend, "kassa is serving");
    if let Some(summary) = app.demo_summary() {
        println!("{summary}");
    }
    app.run_until_stopped().await
}
