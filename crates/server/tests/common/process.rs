//! The real `kassa` binary as a child process, for the process-level tests: start it, wait for
//! `/healthz`, kill it with SIGKILL, start it again on the same store.

use super::ADMIN_TOKEN;
use kassa_client::Kassa;
use reqwest::StatusCode;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kassa");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `kassa serve`; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub client: Kassa,
}

impl Server {
    /// `kassa serve` on a free port with `flags` (e.g. `--demo`) and the store's arguments.
    pub fn start(flags: &[&str], store: &[String]) -> Self {
        Self::start_on(free_port(), flags, store)
    }

    /// The same on a given port (a restart keeps the address the load generator uses).
    pub fn start_on(port: u16, flags: &[&str], store: &[String]) -> Self {
        Self::spawn(port, flags, store, false)
    }

    /// Like [`start`](Self::start), with stdout and stderr piped for the test to read
    /// (and `warn` logs, so that a failed start explains itself).
    pub fn start_piped(flags: &[&str], store: &[String]) -> Self {
        Self::spawn(free_port(), flags, store, true)
    }

    fn spawn(port: u16, flags: &[&str], store: &[String], piped: bool) -> Self {
        let output = || if piped { Stdio::piped() } else { Stdio::null() };
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-token", ADMIN_TOKEN])
            .args(["--log-level", if piped { "warn" } else { "error" }])
            .args(flags)
            .args(store)
            .env_remove("KASSA_DATABASE_URL")
            .stdout(output())
            .stderr(output())
            .spawn()
            .expect("start kassa");
        Self { child, client: Kassa::new(format!("http://127.0.0.1:{port}")).with_admin_token(ADMIN_TOKEN) }
    }

    /// Polls `/healthz` until it answers (at most 30 s) and returns how long that took; fails,
    /// with the server's stderr when piped, if the process exits first.
    pub async fn wait_healthy(&mut self) -> Duration {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if matches!(self.client.healthz().await, Ok(r) if r.status == StatusCode::OK) {
                return started.elapsed();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = std::io::Read::read_to_string(e, &mut err);
                }
                panic!("kassa exited early with {status}: {err}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("kassa did not answer /healthz within 30 s");
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}
