//! JOB v3 launch inputs (fast_execute_script, execute_job_plan) and their JSON parameters, with JOB's documented limits checked before
//! anything is sent (a violation is [`BkError::Invalid`], never an upstream round trip).
//!
//! Script content and parameters are plain text here and Base64-encoded (standard, padded, of
//! the UTF-8 bytes, the whole parameter string once) on the way out. Hosts go as
//! `host_id_list`; `ip_list` is sent only when no host id is given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::error::BkError;
use super::job_target::{Scope, TargetServer, check_target};

/// Where a fast script comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// Inline text (plain; Base64-encoded by the client) and its language code
    /// (docs/blueking.md, "Status codes").
    Content {
        /// Script text.
        content: String,
        /// `script_language` code, 1–6.
        language: i32,
    },
    /// A stored script version.
    VersionId(i64),
    /// A stored script; its online version runs.
    ScriptId(String),
}

/// The account a script runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRef {
    /// `account_id`.
    Id(i64),
    /// `account_alias`.
    Alias(String),
}

/// Input of fast_execute_script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastExecuteScript {
    /// Scope.
    pub scope: Scope,
    /// Script.
    pub script: ScriptSource,
    /// Parameters as one plain string.
    pub script_param: Option<String>,
    /// Mask the parameters in JOB.
    pub is_param_sensitive: bool,
    /// Timeout in seconds, 1–86,400; `None` for JOB's default.
    pub timeout_secs: Option<u64>,
    /// Execution account.
    pub account: AccountRef,
    /// Targets.
    pub target: TargetServer,
    /// Task name, ≤512 characters.
    pub task_name: Option<String>,
    /// Windows interpreter (`.exe`, ≤260 characters).
    pub windows_interpreter: Option<String>,
    /// Callback URL for the end of the job.
    pub callback_url: Option<String>,
}

const API_SCRIPT: &str = "fast_execute_script";

fn invalid(api: &'static str, field: &'static str, reason: impl Into<String>) -> BkError {
    BkError::Invalid {
        api,
        field,
        reason: reason.into(),
    }
}

impl FastExecuteScript {
    /// The JSON parameters, after checking JOB's limits.
    pub(crate) fn params(&self) -> Result<Map<String, Value>, BkError> {
        let api = API_SCRIPT;
        let mut m = self.scope.params();
        match &self.script {
            ScriptSource::Content { content, language } => {
                if content.len() > 16_777_215 {
                    return Err(invalid(
                        api,
                        "script_content",
                        "is longer than 16,777,215 bytes",
                    ));
                }
                if !(1..=6).contains(language) {
                    return Err(invalid(api, "script_language", "must be 1 to 6"));
                }
                m.insert("script_content".to_owned(), json!(STANDARD.encode(content)));
                m.insert("script_language".to_owned(), json!(language));
            }
            ScriptSource::VersionId(id) if *id < 1 => {
                return Err(invalid(api, "script_version_id", "must be positive"));
            }
            ScriptSource::VersionId(id) => {
                m.insert("script_version_id".to_owned(), json!(id));
            }
            ScriptSource::ScriptId(id) => {
                m.insert("script_id".to_owned(), json!(id));
            }
        }
        if let Some(param) = self.script_param.as_deref().filter(|p| !p.is_empty()) {
            let cap = if self.is_param_sensitive {
                48_128
            } else {
                65_535
            };
            if param.len() > cap {
                return Err(invalid(
                    api,
                    "script_param",
                    format!("is longer than {cap} bytes"),
                ));
            }
            m.insert("script_param".to_owned(), json!(STANDARD.encode(param)));
        }
        m.insert(
            "is_param_sensitive".to_owned(),
            json!(i32::from(self.is_param_sensitive)),
        );
        if let Some(t) = self.timeout_secs {
            if !(1..=86_400).contains(&t) {
                return Err(invalid(api, "timeout", "must be 1 to 86,400 seconds"));
            }
            m.insert("timeout".to_owned(), json!(t));
        }
        match &self.account {
            AccountRef::Id(id) => m.insert("account_id".to_owned(), json!(id)),
            AccountRef::Alias(a) => m.insert("account_alias".to_owned(), json!(a)),
        };
        check_target(api, "target", &self.target)?;
        m.insert("target_server".to_owned(), self.target.to_json());
        if let Some(name) = self.task_name.as_deref().filter(|n| !n.is_empty()) {
            if name.chars().count() > 512 {
                return Err(invalid(api, "task_name", "is longer than 512 characters"));
            }
            m.insert("task_name".to_owned(), json!(name));
        }
        if let Some(wi) = self
            .windows_interpreter
            .as_deref()
            .filter(|w| !w.is_empty())
        {
            if !wi.ends_with(".exe") || wi.chars().count() > 260 {
                return Err(invalid(
                    api,
                    "windows_interpreter",
                    "must end with `.exe` and be at most 260 characters",
                ));
            }
            m.insert("windows_interpreter".to_owned(), json!(wi));
        }
        if let Some(url) = &self.callback_url {
            m.insert("callback_url".to_owned(), json!(url));
        }
        Ok(m)
    }
}

/// Which global variable to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarSelector {
    /// By id (wins in JOB).
    Id(i64),
    /// By name.
    Name(String),
}

/// The new value of a global variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarContent {
    /// A string-like value.
    Value(String),
    /// Hosts of a host-list variable.
    Hosts(TargetServer),
}

/// One `global_var_list` entry of execute_job_plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVarValue {
    /// Which variable.
    pub selector: VarSelector,
    /// Its value.
    pub content: VarContent,
}

/// Input of execute_job_plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteJobPlan {
    /// Scope.
    pub scope: Scope,
    /// Plan.
    pub job_plan_id: i64,
    /// Variable overrides.
    pub global_vars: Vec<GlobalVarValue>,
    /// Callback URL.
    pub callback_url: Option<String>,
}

impl ExecuteJobPlan {
    /// The JSON parameters, after checking JOB's limits.
    pub(crate) fn params(&self) -> Result<Map<String, Value>, BkError> {
        let api = "execute_job_plan";
        if self.job_plan_id < 1 {
            return Err(invalid(api, "job_plan_id", "must be positive"));
        }
        let mut m = self.scope.params();
        m.insert("job_plan_id".to_owned(), json!(self.job_plan_id));
        let mut vars = Vec::with_capacity(self.global_vars.len());
        for var in &self.global_vars {
            let mut v = Map::new();
            match &var.selector {
                VarSelector::Id(id) => v.insert("id".to_owned(), json!(id)),
                VarSelector::Name(n) => v.insert("name".to_owned(), json!(n)),
            };
            match &var.content {
                VarContent::Value(s) => v.insert("value".to_owned(), json!(s)),
                VarContent::Hosts(t) => {
                    check_target(api, "global_vars.hosts", t)?;
                    v.insert("server".to_owned(), t.to_json())
                }
            };
            vars.push(Value::Object(v));
        }
        if !vars.is_empty() {
            m.insert("global_var_list".to_owned(), Value::Array(vars));
        }
        if let Some(url) = &self.callback_url {
            m.insert("callback_url".to_owned(), json!(url));
        }
        Ok(m)
    }
}
