//! BlueKing login sessions: which world `bk_token`s are still valid.
//!
//! Decision: a token is valid from start-up (or the last `/_sim/reset`) for `login_ttl_ms` when that is
//! set, forever otherwise, unless `POST /_sim/login/tokens/{token}/expire` ended it first. Every API that
//! takes a `bk_token` (login, JOB, CMDB, GSE) asks [`Sessions::user`], so an expired login fails everywhere.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::faults::lock;
use crate::world::World;

/// Expiry state of the world's login tokens.
#[derive(Debug)]
pub struct Sessions {
    ttl: Option<Duration>,
    started: Mutex<Instant>,
    expired: Mutex<HashSet<String>>,
}

impl Sessions {
    /// Tokens valid for `ttl` from now (`None` = until expired by hand).
    pub fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl,
            started: Mutex::new(Instant::now()),
            expired: Mutex::default(),
        }
    }

    /// The user a valid token belongs to; `None` for an unknown or expired token.
    pub fn user<'w>(&self, world: &'w World, token: &str) -> Option<&'w str> {
        let user = world.tokens.get(token)?;
        if self
            .ttl
            .is_some_and(|ttl| lock(&self.started).elapsed() >= ttl)
            || lock(&self.expired).contains(token)
        {
            return None;
        }
        Some(user.as_str())
    }

    /// Ends a world token's session; `false` when the world has no such token.
    pub fn expire(&self, world: &World, token: &str) -> bool {
        if !world.tokens.contains_key(token) {
            return false;
        }
        lock(&self.expired).insert(token.to_string());
        true
    }

    /// Every token valid again, the expiry clock restarted.
    pub fn reset(&self) {
        lock(&self.expired).clear();
        *lock(&self.started) = Instant::now();
    }
}
