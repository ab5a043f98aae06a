//! Per-business authorization: may this BlueKing user act on that business? BlueKing decides,
//! asked as the user through job-gateway (`Gateway::probe_business`, `Gateway::businesses_of`);
//! this module remembers its answers for a short, configurable time.
//!
//! Decisions: a business among those CMDB's `search_business` lists for the user is open to
//! them (one question per user covers every business). Any other business is probed as the
//! user (a one-host ListHosts page) so that a refusal carries BlueKing's own status, its
//! permission details and apply URL. The businesses a user may see are remembered per user
//! for `ttl`, a probe's answer per (user, business) for the same time. Only BlueKing's own
//! verdicts are remembered: a failure to ask (job-gateway or BlueKing unavailable) is passed
//! on and asked again next time, never turned into a refusal or a permission. A permission
//! BlueKing revokes can therefore still be used for up to `ttl`; that is the bound, and it is
//! tested.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tonic::{Code, Status};

use crate::error::{BackupError, Result};
use crate::gateway::Gateway;

/// Remembered entries at most; past it, expired ones are dropped first, then all.
const SOFT_LIMIT: usize = 50_000;

type Verdicts = HashMap<(String, i64), (Instant, Option<Status>)>;
type Visible = HashMap<String, (Instant, Arc<Vec<i64>>)>;

/// BlueKing's answers about who may act on which business.
#[derive(Clone)]
pub struct Access {
    gateway: Gateway,
    ttl: Duration,
    verdicts: Arc<Mutex<Verdicts>>,
    visible: Arc<Mutex<Visible>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Whether BlueKing decided (its refusal is remembered) or could not be asked.
fn is_verdict(s: &Status) -> bool {
    matches!(s.code(), Code::PermissionDenied | Code::NotFound)
}

impl Access {
    /// Asks through `gateway`, remembering answers for `ttl` (zero: ask every time).
    pub fn new(gateway: Gateway, ttl: Duration) -> Self {
        Self {
            gateway,
            ttl,
            verdicts: Arc::default(),
            visible: Arc::default(),
        }
    }

    /// Ok when `user` may act on business `bk_biz_id`; PERMISSION_DENIED (with BlueKing's
    /// permission details and apply URL) or NOT_FOUND otherwise.
    pub async fn check(&self, user: &str, bk_biz_id: i64) -> Result<()> {
        if self
            .businesses(user)
            .await?
            .binary_search(&bk_biz_id)
            .is_ok()
        {
            return Ok(());
        }
        let key = (user.to_owned(), bk_biz_id);
        let remembered = {
            let v = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
            v.get(&key)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, verdict)| verdict.clone())
        };
        let verdict = match remembered {
            Some(v) => v,
            None => {
                let verdict = match self.gateway.probe_business(bk_biz_id, user).await {
                    Ok(()) => None,
                    Err(s) if is_verdict(&s) => Some(s),
                    Err(s) => return Err(BackupError::Upstream(s)),
                };
                self.remember(key, verdict.clone());
                verdict
            }
        };
        match verdict {
            None => Ok(()),
            Some(s) => Err(BackupError::Upstream(s)),
        }
    }

    /// The businesses `user` may see, ascending.
    pub async fn businesses(&self, user: &str) -> Result<Arc<Vec<i64>>> {
        {
            let v = self.visible.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, ids)) = v.get(user)
                && at.elapsed() < self.ttl
            {
                return Ok(Arc::clone(ids));
            }
        }
        let ids = Arc::new(
            self.gateway
                .businesses_of(user)
                .await
                .map_err(BackupError::Upstream)?,
        );
        if !self.ttl.is_zero() {
            let mut v = self.visible.lock().unwrap_or_else(PoisonError::into_inner);
            if v.len() >= SOFT_LIMIT {
                v.retain(|_, (at, _)| at.elapsed() < self.ttl);
            }
            v.insert(user.to_owned(), (Instant::now(), Arc::clone(&ids)));
        }
        Ok(ids)
    }

    fn remember(&self, key: (String, i64), verdict: Option<Status>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut v = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        if v.len() >= SOFT_LIMIT {
            v.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if v.len() >= SOFT_LIMIT {
                v.clear();
            }
        }
        v.insert(key, (Instant::now(), verdict));
    }
}
