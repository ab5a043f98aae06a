//! The indexed world's records: businesses, sets, modules, hosts and plans.

use serde_json::{Map, Value};

use super::model::{Layout, PlanDef};

/// A business and its topology.
#[derive(Debug, Clone)]
pub struct Business {
    pub id: i64,
    pub name: String,
    pub maintainer: String,
    pub archived: bool,
    /// 0 normal, 1 the resource pool.
    pub default: i64,
    pub time_zone: String,
    /// Normal sets in world order, then the idle-pool set (`default: 1`).
    pub set_ids: Vec<i64>,
    /// Indexes into `World::hosts`, ascending host id.
    pub host_idx: Vec<usize>,
}

/// A set.
#[derive(Debug, Clone)]
pub struct SetNode {
    pub id: i64,
    pub biz: i64,
    pub name: String,
    pub env: String,
    /// 0 normal, 1 idle pool.
    pub default: i64,
    pub module_ids: Vec<i64>,
}

/// A module.
#[derive(Debug, Clone)]
pub struct Module {
    pub id: i64,
    pub set: i64,
    pub biz: i64,
    pub name: String,
    /// 0 normal, 1 idle, 2 faulty, 3 recycle.
    pub default: i64,
}

/// A host with its CMDB attributes precomputed.
#[derive(Debug, Clone)]
pub struct Host {
    pub id: i64,
    pub ip: String,
    pub cloud_id: i64,
    pub name: String,
    pub agent_id: String,
    pub agent_alive: bool,
    pub biz: i64,
    pub modules: Vec<i64>,
    pub profiles: Vec<String>,
    pub layout: Layout,
    /// Every CMDB attribute, in attribute order.
    pub cmdb: Map<String, Value>,
}

/// A JOB plan, scripts already loaded.
#[derive(Debug, Clone)]
pub struct Plan {
    pub def: PlanDef,
    pub vars: Vec<PlanVar>,
    pub steps: Vec<PlanStep>,
}

/// A plan variable.
#[derive(Debug, Clone)]
pub struct PlanVar {
    pub id: i64,
    pub name: String,
    pub var_type: i32,
    pub value: String,
    pub hosts: Vec<i64>,
    pub description: String,
    pub required: bool,
}

/// A plan script step.
#[derive(Debug, Clone)]
pub struct PlanStep {
    pub id: i64,
    pub name: String,
    pub script: String,
    pub param: String,
    pub timeout: i64,
    pub account_id: i64,
    pub hosts: Vec<i64>,
    pub target_variable: Option<String>,
    pub ignore_error: bool,
}
