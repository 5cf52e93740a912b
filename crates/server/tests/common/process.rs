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
        let child = Command::new(BIN)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-token", ADMIN_TOKEN, "--log-level", "error"])
            .args(flags)
            .args(store)
            .env_remove("KASSA_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kassa");
        Self { child, client: Kassa::new(format!("http://127.0.0.1:{port}")).with_admin_token(ADMIN_TOKEN) }
    }

    /// Polls `/healthz` until it answers (at most 30 s); fails if the process exits first.
    pub async fn wait_healthy(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if matches!(self.client.healthz().await, Ok(r) if r.status == StatusCode::OK) {
                return;
            }
            assert!(self.child.try_wait().unwrap().is_none(), "kassa exited early");
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
