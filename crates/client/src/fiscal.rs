//! Client methods of the fiscal admin routes (`/api/registers/…`, `/api/ofd…`, `/api/fiscal/verify`).

use crate::{ClientError, Kassa, Reply};
use reqwest::Method;
use serde::Serialize;

impl Kassa {
    /// Registers one RU command (`{"type": "receipt", …}`) on a register.
    pub async fn register_document(&self, register_id: &str, command: &impl Serialize) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::POST, &format!("/registers/{register_id}/documents")).json(command)).await
    }

    pub async fn register(&self, register_id: &str) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &format!("/registers/{register_id}"))).await
    }

    pub async fn journal(&self, register_id: &str, after: u64, limit: u32) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, &format!("/registers/{register_id}/journal?after={after}&limit={limit}"))).await
    }

    /// ATOL-88 step 1 hook: the next `attempts` commands on the register fail with `code`.
    pub async fn inject_fault(&self, register_id: &str, attempts: u32, code: i32) -> Result<Reply, ClientError> {
        let body = serde_json::json!({"attempts": attempts, "code": code});
        self.send(self.admin(Method::PUT, &format!("/registers/{register_id}/faults")).json(&body)).await
    }

    pub async fn ofd(&self) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, "/ofd")).await
    }

    /// `{"mode": "up" | "unreachable" | "rejecting"}` or `{"mode": "slow", "delay_ms": n}`.
    pub async fn set_ofd_mode(&self, mode: &serde_json::Value) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::PUT, "/ofd/mode").json(mode)).await
    }

    pub async fn verify_journal(&self) -> Result<Reply, ClientError> {
        self.send(self.admin(Method::GET, "/fiscal/verify")).await
    }
}
