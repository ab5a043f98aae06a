//! Shared state of one running simulator: world, jobs, faults, request log, login sessions, agent
//! overrides, host trees.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, Semaphore};

use crate::callback::CallbackRecord;
use crate::config::Settings;
use crate::error::{Result, SimError};
use crate::faults::{Faults, lock};
use crate::jobs::JobStore;
use crate::login::Sessions;
use crate::reqlog::RequestLog;
use crate::sandbox::Sandbox;
use crate::world::World;

/// Removes a temporary state directory when the simulator goes away.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        make_writable(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Restores owner permissions below `dir` so a `chmod 000` directory can be deleted without root.
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
            make_writable(&p);
        }
    }
}

/// Everything a request handler or job runner needs.
pub struct AppState {
    pub settings: Settings,
    pub world: Arc<World>,
    pub jobs: JobStore,
    pub faults: Faults,
    pub requests: RequestLog,
    pub callbacks: Mutex<Vec<CallbackRecord>>,
    pub sandbox: Sandbox,
    pub state_dir: PathBuf,
    /// Bounds the hosts running at once across all jobs.
    pub runner: Semaphore,
    pub http: reqwest::Client,
    /// Which `bk_token`s are still logged in.
    pub sessions: Sessions,
    agents: Mutex<HashMap<i64, bool>>,
    /// Hosts moved to other modules at run time (`PUT /_sim/hosts/{id}/modules`).
    moved: Mutex<HashMap<i64, Vec<i64>>>,
    /// Business permissions granted (`true`) or revoked (`false`) at run time, per user.
    grants: Mutex<HashMap<(String, i64), bool>>,
    host_roots: Mutex<HashMap<i64, Arc<OnceCell<PathBuf>>>>,
    _temp: Option<TempDir>,
}

impl AppState {
    /// Builds the state; detects the sandbox and prepares the state directory.
    pub fn new(settings: Settings) -> Result<Self> {
        let sandbox = Sandbox::detect()?;
        let (state_dir, temp) = match &settings.state_dir {
            Some(d) => (d.clone(), None),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "bk-sim-{}-{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                ));
                (d.clone(), Some(TempDir(d)))
            }
        };
        std::fs::create_dir_all(state_dir.join("hosts")).map_err(|source| SimError::State {
            path: state_dir.clone(),
            source,
        })?;
        Ok(Self {
            world: settings.world.clone(),
            faults: Faults::new(settings.faults.clone()),
            runner: Semaphore::new(settings.max_parallel_hosts.max(1)),
            http: reqwest::Client::new(),
            sessions: Sessions::new(settings.login_ttl_ms.map(std::time::Duration::from_millis)),
            settings,
            jobs: JobStore::default(),
            requests: RequestLog::default(),
            callbacks: Mutex::default(),
            sandbox,
            state_dir,
            agents: Mutex::default(),
            moved: Mutex::default(),
            grants: Mutex::default(),
            host_roots: Mutex::default(),
            _temp: temp,
        })
    }

    /// Whether the host's agent is alive now (world value unless overridden at run time).
    pub fn agent_alive(&self, host_id: i64) -> bool {
        if let Some(v) = lock(&self.agents).get(&host_id) {
            return *v;
        }
        self.world.host(host_id).is_some_and(|h| h.agent_alive)
    }

    /// Overrides a host's agent state.
    pub fn set_agent(&self, host_id: i64, alive: bool) {
        lock(&self.agents).insert(host_id, alive);
    }

    /// Drops every agent override.
    pub fn reset_agents(&self) {
        lock(&self.agents).clear();
    }

    /// Whether `user` may use business `biz` now: the world's answer unless a grant or
    /// revocation was made at run time (`PUT` / `DELETE /_sim/users/{user}/businesses/{biz}`).
    pub fn user_may_use(&self, user: &str, biz: i64) -> bool {
        if let Some(v) = lock(&self.grants).get(&(user.to_owned(), biz)) {
            return *v;
        }
        self.world.user_may_use(user, biz)
    }

    /// Grants (`true`) or revokes (`false`) `user`'s permission on business `biz`.
    pub fn set_grant(&self, user: &str, biz: i64, granted: bool) {
        lock(&self.grants).insert((user.to_owned(), biz), granted);
    }

    /// Drops every run-time grant and revocation.
    pub fn reset_grants(&self) {
        lock(&self.grants).clear();
    }

    /// The modules `host` is in now: the world's, unless it was moved at run time.
    pub fn host_modules(&self, host: &crate::world::Host) -> Vec<i64> {
        lock(&self.moved)
            .get(&host.id)
            .cloned()
            .unwrap_or_else(|| host.modules.clone())
    }

    /// Moves a host to `modules` of its business (CMDB `transfer_host_module`, replacing its
    /// modules), as if an operator did it while the simulator runs.
    pub fn move_host(&self, host_id: i64, modules: Vec<i64>) {
        lock(&self.moved).insert(host_id, modules);
    }

    /// Puts every moved host back in its world modules.
    pub fn reset_moves(&self) {
        lock(&self.moved).clear();
    }

    /// The host's tree on disk, materialised on first use.
    pub async fn host_root(&self, host_id: i64) -> Result<PathBuf> {
        let cell = lock(&self.host_roots).entry(host_id).or_default().clone();
        let root = self.state_dir.join("hosts").join(host_id.to_string());
        cell.get_or_try_init(|| async {
            let world = self.world.clone();
            let dir = root.clone();
            tokio::task::spawn_blocking(move || {
                let host = world
                    .host(host_id)
                    .ok_or_else(|| SimError::InvalidWorld(format!("unknown host {host_id}")))?;
                if dir.exists() {
                    make_writable(&dir);
                    std::fs::remove_dir_all(&dir).map_err(|source| SimError::State {
                        path: dir.clone(),
                        source,
                    })?;
                }
                crate::world::seed::materialise(&world, host, &dir)?;
                Ok::<_, SimError>(dir)
            })
            .await
            .map_err(|e| SimError::InvalidWorld(format!("materialisation panicked: {e}")))?
        })
        .await
        .cloned()
    }
}
