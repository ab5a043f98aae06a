//! Index of the world file: hosts by id, ip and agent id, business hosts, topology and plans.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::IDLE_OFFSET;
use super::model::{AppDef, Layout, UserDef, WorldFile};
use super::types::{Business, Host, Module, Plan, SetNode};
use crate::error::{Result, SimError};

/// The indexed world.
#[derive(Debug, Default)]
pub struct World {
    pub apps: HashMap<String, AppDef>,
    pub users: HashMap<String, UserDef>,
    /// `bk_token` → user name.
    pub tokens: HashMap<String, String>,
    /// account id → alias.
    pub accounts: BTreeMap<i64, String>,
    pub businesses: BTreeMap<i64, Business>,
    pub sets: HashMap<i64, SetNode>,
    pub modules: HashMap<i64, Module>,
    /// Hosts sorted by id.
    pub hosts: Vec<Host>,
    host_by_id: HashMap<i64, usize>,
    host_by_ip: HashMap<(i64, String), usize>,
    host_by_agent: HashMap<String, usize>,
    pub profiles: BTreeMap<String, Layout>,
    pub plans: BTreeMap<i64, Plan>,
}

impl World {
    /// Reads and indexes a world file; `script_file` paths are relative to it.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadWorld {
            path: path.to_path_buf(),
            source,
        })?;
        let file: WorldFile = toml::from_str(&text).map_err(|e| SimError::ParseWorld {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_file(file, path.parent().map(Path::to_path_buf))
    }

    /// Parses and indexes world TOML text; `script_file` paths are relative to `base_dir`.
    pub fn from_toml(text: &str, base_dir: Option<PathBuf>) -> Result<Self> {
        let file: WorldFile = toml::from_str(text).map_err(|e| SimError::ParseWorld {
            path: PathBuf::from("<inline>"),
            message: e.to_string(),
        })?;
        Self::from_file(file, base_dir)
    }

    /// Indexes an in-memory world (tests build these in code).
    pub fn from_file(file: WorldFile, base_dir: Option<PathBuf>) -> Result<Self> {
        let mut w = World {
            profiles: file.profiles.clone(),
            ..World::default()
        };
        for a in file.apps {
            w.apps.insert(a.code.clone(), a);
        }
        for u in file.users {
            if let Some(t) = &u.token {
                w.tokens.insert(t.clone(), u.name.clone());
            }
            w.users.insert(u.name.clone(), u);
        }
        w.accounts.insert(1, "root".to_string());
        for a in file.accounts {
            w.accounts.insert(a.id, a.alias);
        }
        for b in &file.businesses {
            w.add_business(b)?;
        }
        let mut hosts = file.hosts;
        for g in &file.host_groups {
            hosts.extend(super::seed::expand_group(g)?);
        }
        hosts.sort_by_key(|h| h.id);
        for h in hosts {
            w.add_host(h)?;
        }
        for p in file.plans {
            w.add_plan(p, base_dir.as_deref())?;
        }
        Ok(w)
    }

    fn add_business(&mut self, b: &super::model::BusinessDef) -> Result<()> {
        if self.businesses.contains_key(&b.id) {
            return Err(SimError::InvalidWorld(format!(
                "duplicate business id {}",
                b.id
            )));
        }
        let mut set_ids = Vec::new();
        for s in &b.sets {
            let mods = s
                .modules
                .iter()
                .map(|m| (m.id, m.name.clone(), 0))
                .collect();
            self.add_set(b.id, s.id, &s.name, &s.env, 0, mods)?;
            set_ids.push(s.id);
        }
        let idle = IDLE_OFFSET + b.id * 10;
        let idle_mods = vec![
            (idle + 1, "idle host".to_string(), 1),
            (idle + 2, "fault host".to_string(), 2),
            (idle + 3, "recycle host".to_string(), 3),
        ];
        self.add_set(b.id, idle, "idle pool", "3", 1, idle_mods)?;
        set_ids.push(idle);
        self.businesses.insert(
            b.id,
            Business {
                id: b.id,
                name: b.name.clone(),
                maintainer: b.maintainer.clone(),
                archived: b.archived,
                default: b.default,
                time_zone: b.time_zone.clone(),
                set_ids,
                host_idx: Vec::new(),
            },
        );
        Ok(())
    }

    fn add_set(
        &mut self,
        biz: i64,
        id: i64,
        name: &str,
        env: &str,
        default: i64,
        mods: Vec<(i64, String, i64)>,
    ) -> Result<()> {
        if self.sets.contains_key(&id) {
            return Err(SimError::InvalidWorld(format!("duplicate set id {id}")));
        }
        let mut module_ids = Vec::new();
        for (mid, mname, mdefault) in mods {
            if self.modules.contains_key(&mid) {
                return Err(SimError::InvalidWorld(format!("duplicate module id {mid}")));
            }
            let module = Module {
                id: mid,
                set: id,
                biz,
                name: mname,
                default: mdefault,
            };
            self.modules.insert(mid, module);
            module_ids.push(mid);
        }
        let set = SetNode {
            id,
            biz,
            name: name.to_string(),
            env: env.to_string(),
            default,
            module_ids,
        };
        self.sets.insert(id, set);
        Ok(())
    }

    fn add_host(&mut self, h: super::model::HostDef) -> Result<()> {
        if self.host_by_id.contains_key(&h.id) {
            return Err(SimError::InvalidWorld(format!(
                "duplicate host id {}",
                h.id
            )));
        }
        if h.ip.parse::<Ipv4Addr>().is_err() {
            return Err(SimError::InvalidWorld(format!(
                "host {} has invalid ip `{}`",
                h.id, h.ip
            )));
        }
        let mut modules = h.modules.clone();
        let biz = match (modules.first(), h.biz) {
            (Some(m), _) => self.modules.get(m).map(|m| m.biz).ok_or_else(|| {
                SimError::InvalidWorld(format!("host {} references unknown module {m}", h.id))
            })?,
            (None, Some(b)) => {
                modules.push(IDLE_OFFSET + b * 10 + 1);
                b
            }
            (None, None) => {
                return Err(SimError::InvalidWorld(format!(
                    "host {} has neither modules nor biz",
                    h.id
                )));
            }
        };
        for m in &modules {
            match self.modules.get(m) {
                Some(module) if module.biz == biz => {}
                _ => {
                    return Err(SimError::InvalidWorld(format!(
                        "host {} module {m} is unknown or in another business",
                        h.id
                    )));
                }
            }
        }
        for p in &h.profiles {
            if !self.profiles.contains_key(p) {
                return Err(SimError::InvalidWorld(format!(
                    "host {} references unknown profile `{p}`",
                    h.id
                )));
            }
        }
        let biz_entry = self.businesses.get_mut(&biz).ok_or_else(|| {
            SimError::InvalidWorld(format!("host {} in unknown business {biz}", h.id))
        })?;
        let idx = self.hosts.len();
        biz_entry.host_idx.push(idx);
        self.host_by_id.insert(h.id, idx);
        self.host_by_ip.insert((h.cloud_id, h.ip.clone()), idx);
        if !h.agent_id.is_empty() {
            self.host_by_agent.insert(h.agent_id.clone(), idx);
        }
        let cmdb = super::attrs::cmdb_attributes(&h);
        self.hosts.push(Host {
            id: h.id,
            ip: h.ip,
            cloud_id: h.cloud_id,
            name: h.name,
            agent_id: h.agent_id,
            agent_alive: h.agent_alive,
            biz,
            modules,
            profiles: h.profiles,
            layout: h.layout,
            cmdb,
        });
        Ok(())
    }

    /// Host by CMDB id.
    pub fn host(&self, id: i64) -> Option<&Host> {
        self.host_by_id.get(&id).map(|i| &self.hosts[*i])
    }

    /// Host by control area and inner IP.
    pub fn host_by_ip(&self, cloud_id: i64, ip: &str) -> Option<&Host> {
        self.host_by_ip
            .get(&(cloud_id, ip.to_string()))
            .map(|i| &self.hosts[*i])
    }

    /// Host by GSE 2.0 agent id.
    pub fn host_by_agent_id(&self, agent_id: &str) -> Option<&Host> {
        self.host_by_agent.get(agent_id).map(|i| &self.hosts[*i])
    }

    /// Hosts of a business, ascending id.
    pub fn biz_hosts(&self, biz: i64) -> impl Iterator<Item = &Host> {
        self.businesses
            .get(&biz)
            .into_iter()
            .flat_map(move |b| b.host_idx.iter().map(move |i| &self.hosts[*i]))
    }

    /// Whether `user` may use business `biz`.
    pub fn user_may_use(&self, user: &str, biz: i64) -> bool {
        self.users
            .get(user)
            .is_some_and(|u| u.all_businesses || u.businesses.contains(&biz))
    }
}
