//! The id port: uuids and tokens come from here, so tests can fix them (§13.1 fixture).

use std::collections::VecDeque;
use std::sync::Mutex;

pub trait IdGen: Send + Sync + 'static {
    /// A random (version 4) UUID, lowercase hyphenated (ATOL-24).
    fn uuid(&self) -> String;
    /// 32 lowercase hex characters from a cryptographically secure source (ATOL-36).
    fn token(&self) -> String;
}

/// Random ids from the operating system's CSPRNG (via `rand`'s thread generator).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn uuid(&self) -> String {
        uuid::Uuid::new_v4().hyphenated().to_string()
    }
    fn token(&self) -> String {
        kassa_domain::atol::token::format_token(rand::random())
    }
}

/// Yields the given uuids and tokens in order, then random ones (tests, fixtures).
#[derive(Debug, Default)]
pub struct SequenceIds {
    uuids: Mutex<VecDeque<String>>,
    tokens: Mutex<VecDeque<String>>,
}

impl SequenceIds {
    pub fn new(uuids: &[&str], tokens: &[&str]) -> Self {
        Self {
            uuids: Mutex::new(uuids.iter().map(|s| (*s).to_owned()).collect()),
            tokens: Mutex::new(tokens.iter().map(|s| (*s).to_owned()).collect()),
        }
    }
}

impl IdGen for SequenceIds {
    fn uuid(&self) -> String {
        self.uuids.lock().ok().and_then(|mut q| q.pop_front()).unwrap_or_else(|| RandomIds.uuid())
    }
    fn token(&self) -> String {
        self.tokens.lock().ok().and_then(|mut q| q.pop_front()).unwrap_or_else(|| RandomIds.token())
    }
}
