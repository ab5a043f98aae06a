//! The world file as written by people: plain serde structs, one per TOML table.
//!
//! Everything is optional where a sensible default exists so a small world stays small; `index.rs` turns
//! this into the looked-up form the APIs use and checks references.

use serde::{Deserialize, Serialize};

/// The whole world file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorldFile {
    #[serde(default, rename = "app")]
    pub apps: Vec<AppDef>,
    #[serde(default, rename = "user")]
    pub users: Vec<UserDef>,
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountDef>,
    #[serde(default, rename = "business")]
    pub businesses: Vec<BusinessDef>,
    #[serde(default, rename = "profile")]
    pub profiles: std::collections::BTreeMap<String, Layout>,
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostDef>,
    #[serde(default, rename = "host_group")]
    pub host_groups: Vec<HostGroupDef>,
    #[serde(default, rename = "plan")]
    pub plans: Vec<PlanDef>,
}

/// An application allowed to call BlueKing (`bk_app_code` + `bk_app_secret`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppDef {
    pub code: String,
    pub secret: String,
    /// On ESB's login-exempt whitelist: may name the user with `bk_username` instead of `bk_token`.
    #[serde(default)]
    pub login_exempt: bool,
    /// Gateways the app was granted (`bk-job`, `bk-cmdb`, `bk-gse`); absent = all.
    #[serde(default)]
    pub gateways: Option<Vec<String>>,
}

/// A BlueKing user and the businesses it may use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserDef {
    pub name: String,
    /// Login ticket accepted as `bk_token`.
    #[serde(default)]
    pub token: Option<String>,
    /// Name shown to people (login `display_name`, ESB `chname`); default the user name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Login profile language (`zh-cn` or `en`); default `zh-cn`.
    #[serde(default)]
    pub language: Option<String>,
    /// Login profile time zone (IANA); default `Asia/Shanghai`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Business ids this user may use.
    #[serde(default)]
    pub businesses: Vec<i64>,
    /// May use every business (an administrator).
    #[serde(default)]
    pub all_businesses: bool,
}

/// An execution account (`account_id` / `account_alias`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDef {
    pub id: i64,
    pub alias: String,
}

/// A CMDB business with its sets and modules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDef {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub maintainer: String,
    /// Archived (`bk_data_status: "disabled"`): hidden by search_business, refused by JOB.
    #[serde(default)]
    pub archived: bool,
    /// CMDB `default`: 0 a normal business, 1 the resource pool, which search_business never returns.
    #[serde(default)]
    pub default: i64,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default, rename = "set")]
    pub sets: Vec<SetDef>,
}

fn default_time_zone() -> String {
    "Asia/Shanghai".to_string()
}

/// A CMDB set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetDef {
    pub id: i64,
    pub name: String,
    /// `bk_set_env`: "1" test, "2" experience, "3" formal.
    #[serde(default = "default_env")]
    pub env: String,
    #[serde(default, rename = "module")]
    pub modules: Vec<ModuleDef>,
}

fn default_env() -> String {
    "3".to_string()
}

/// A CMDB module.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleDef {
    pub id: i64,
    pub name: String,
}

/// Files and directories to seed into a host's tree; profiles and hosts share this shape.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    #[serde(default, rename = "dir")]
    pub dirs: Vec<DirDef>,
    #[serde(default, rename = "file")]
    pub files: Vec<FileDef>,
    #[serde(default, rename = "generate")]
    pub generators: Vec<GeneratorDef>,
}

/// A directory, optionally with a mode applied after everything is seeded (`"000"` = unreadable).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirDef {
    pub path: String,
    #[serde(default)]
    pub mode: Option<String>,
}

/// One file: literal `content`, or `size` bytes of generated log text.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileDef {
    pub path: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub mode: Option<String>,
    /// Modification time, RFC 3339.
    #[serde(default)]
    pub mtime: Option<String>,
}

/// N generated files `<prefix><n><suffix>` in `dir` with sizes in `[min_size, max_size]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorDef {
    pub dir: String,
    pub count: u32,
    #[serde(default = "default_suffix")]
    pub suffix: String,
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default = "default_size")]
    pub min_size: u64,
    #[serde(default)]
    pub max_size: Option<u64>,
    /// Spread modification times over this many days before now.
    #[serde(default)]
    pub age_days: u32,
}

fn default_suffix() -> String {
    ".log".to_string()
}
fn default_prefix() -> String {
    "log_".to_string()
}
fn default_size() -> u64 {
    1024
}

/// One host.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostDef {
    pub id: i64,
    pub ip: String,
    #[serde(default)]
    pub cloud_id: i64,
    #[serde(default)]
    pub name: String,
    /// CMDB `bk_os_type`: "1" Linux.
    #[serde(default = "default_os_type")]
    pub os_type: String,
    #[serde(default = "default_os_name")]
    pub os_name: String,
    /// GSE 2.0 agent id; empty = legacy agent addressed as `cloud:ip`.
    #[serde(default)]
    pub agent_id: String,
    #[serde(default = "yes")]
    pub agent_alive: bool,
    /// Modules the host belongs to (all in one business).
    #[serde(default)]
    pub modules: Vec<i64>,
    /// Business of a host without modules (placed in its idle module).
    #[serde(default)]
    pub biz: Option<i64>,
    /// Profiles (named layouts) seeded into this host's tree.
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default, flatten)]
    pub layout: Layout,
}

fn default_os_type() -> String {
    "1".to_string()
}
fn default_os_name() -> String {
    "linux centos".to_string()
}
fn yes() -> bool {
    true
}

/// `count` hosts with consecutive ids and IPs, for large worlds.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostGroupDef {
    pub count: u32,
    pub first_id: i64,
    pub first_ip: String,
    #[serde(default)]
    pub cloud_id: i64,
    #[serde(default = "default_name_prefix")]
    pub name_prefix: String,
    #[serde(default)]
    pub modules: Vec<i64>,
    #[serde(default)]
    pub biz: Option<i64>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default = "yes")]
    pub agent_alive: bool,
}

fn default_name_prefix() -> String {
    "host-".to_string()
}

/// A JOB plan (execution scheme) of a business.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDef {
    pub id: i64,
    pub biz: i64,
    pub name: String,
    #[serde(default)]
    pub template_id: i64,
    #[serde(default = "admin")]
    pub creator: String,
    /// Answered as written: seconds since the epoch, as JOB stores plan times, or
    /// milliseconds, as the examples in JOB's docs show them (to test clients against both).
    #[serde(default)]
    pub create_time: i64,
    /// Same unit rules as `create_time`.
    #[serde(default)]
    pub last_modify_time: i64,
    #[serde(default, rename = "var")]
    pub vars: Vec<VarDef>,
    #[serde(default, rename = "step")]
    pub steps: Vec<StepDef>,
}

fn admin() -> String {
    "admin".to_string()
}

/// A plan global variable: type 1 string (`value`) or 3 host list (`hosts`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VarDef {
    pub id: i64,
    pub name: String,
    #[serde(default = "one", rename = "type")]
    pub var_type: i32,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub hosts: Vec<i64>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

fn one() -> i32 {
    1
}

/// A script step. Targets are `hosts` or the host-list variable named by `target_variable`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub id: i64,
    pub name: String,
    /// Inline script text (not Base64).
    #[serde(default)]
    pub script: Option<String>,
    /// Script file, relative to the world file.
    #[serde(default)]
    pub script_file: Option<String>,
    #[serde(default)]
    pub param: String,
    #[serde(default = "default_timeout")]
    pub timeout: i64,
    #[serde(default = "one_i64")]
    pub account_id: i64,
    #[serde(default)]
    pub hosts: Vec<i64>,
    #[serde(default)]
    pub target_variable: Option<String>,
    #[serde(default)]
    pub ignore_error: bool,
}

fn default_timeout() -> i64 {
    7200
}
fn one_i64() -> i64 {
    1
}
