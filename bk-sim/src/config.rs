//! Settings for one simulator instance, built in code by tests or from the command line by `main`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::faults::FaultSpec;
use crate::world::World;

/// Everything an [`crate::Application`] needs besides its listener.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The simulated estate.
    pub world: Arc<World>,
    /// Where host trees are materialised; `None` = a fresh temporary directory removed on drop.
    pub state_dir: Option<PathBuf>,
    /// API-gateway stage segment (`/api/bk-job/{stage}/...`).
    pub stage: String,
    /// Hosts running at once across all jobs.
    pub max_parallel_hosts: usize,
    /// Per-host log cap in bytes (GSE pulls at most 5 MB per task).
    pub log_cap_bytes: usize,
    /// Time a new job stays in status 1 (BLANK) before it starts running.
    pub dispatch_delay_ms: u64,
    /// Most target hosts one script step may have (`1244022` beyond).
    pub max_script_targets: usize,
    /// Faults in force from the start.
    pub faults: FaultSpec,
    /// Timeout of one callback POST.
    pub callback_timeout_ms: u64,
    /// How long a world `bk_token` stays logged in after start-up or reset; `None` = until expired by hand.
    pub login_ttl_ms: Option<u64>,
}

impl Settings {
    /// Checks values a typo could make nonsensical.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| {
            Err(crate::SimError::InvalidWorld(format!(
                "invalid settings: {m}"
            )))
        };
        if self.max_parallel_hosts == 0 {
            return bad("max_parallel_hosts must be at least 1");
        }
        if self.log_cap_bytes == 0 {
            return bad("log_cap_bytes must be at least 1");
        }
        if self.stage.is_empty() || self.stage.contains('/') {
            return bad("stage must be one path segment");
        }
        Ok(())
    }

    /// Defaults around a world.
    pub fn new(world: World) -> Self {
        Self {
            world: Arc::new(world),
            state_dir: None,
            stage: "prod".to_string(),
            max_parallel_hosts: 16,
            log_cap_bytes: 5 * 1024 * 1024,
            dispatch_delay_ms: 100,
            max_script_targets: 50_000,
            faults: FaultSpec::default(),
            callback_timeout_ms: 5_000,
            login_ttl_ms: None,
        }
    }
}
