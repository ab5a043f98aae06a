//! Test harness: a small world built in code, a simulator on 127.0.0.1:0, and clients for both front doors.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use base64::Engine;
use bk_sim::{RunningSim, Settings, World};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const APP: &str = "log-backup";
pub const SECRET: &str = "s3cr3t";
pub const GAME_BIZ: i64 = 3;

/// Test world: business 3 (hosts 101–104, 104 agent down, 103 with an unreadable dir), archived 4, business 5 (host 201).
pub const WORLD: &str = r##"
[[app]]
code = "log-backup"
secret = "s3cr3t"
login_exempt = true

[[app]]
code = "portal"
secret = "p0rtal"
gateways = ["bk-job"]

[[user]]
name = "admin"
token = "tkn-admin"
all_businesses = true

[[user]]
name = "alice"
token = "tkn-alice"
display_name = "Alice Liu"
language = "en"
time_zone = "Europe/Berlin"
businesses = [3]

[[user]]
name = "bob"
businesses = [5]

[[business]]
id = 3
name = "game"

[[business.set]]
id = 31
name = "zone-1"

[[business.set.module]]
id = 311
name = "gamesvr"

[[business.set.module]]
id = 312
name = "gateway"

[[business.set]]
id = 32
name = "zone-2"

[[business.set.module]]
id = 321
name = "gamesvr"

[[business]]
id = 4
name = "old game"
archived = true

[[business]]
id = 5
name = "payments"

[[business.set]]
id = 51
name = "web"

[[business.set.module]]
id = 511
name = "nginx"

[profile.game]
file = [{ path = "/project/a.log", content = "alpha\n" }]
generate = [{ dir = "/data/logs", count = 3, suffix = ".log", min_size = 100, max_size = 100 }]

[[host]]
id = 101
ip = "10.0.0.1"
name = "game-01"
agent_id = "agent101"
modules = [311]
profiles = ["game"]
file = [{ path = "/project/only-on-101.txt", content = "mine\n" }]

[[host]]
id = 102
ip = "10.0.0.2"
name = "game-02"
modules = [311, 312]
profiles = ["game"]

[[host]]
id = 103
ip = "10.0.0.3"
name = "game-03"
modules = [321]
profiles = ["game"]
dir = [{ path = "/project/private", mode = "000" }]
file = [{ path = "/project/private/x.log", content = "x\n" }]

[[host]]
id = 104
ip = "10.0.0.4"
name = "game-04"
modules = [321]
agent_alive = false

[[host]]
id = 201
ip = "10.5.0.1"
name = "pay-01"
modules = [511]

[[plan]]
id = 700
biz = 3
name = "list logs"
template_id = 70

[[plan.var]]
id = 1
name = "dir"
value = "/data/logs"

[[plan.var]]
id = 2
name = "targets"
type = 3
hosts = [101]

[[plan.step]]
id = 7001
name = "list"
script = "#!/bin/bash\nls \"$dir\" | sort\n"
target_variable = "targets"
"##;

/// Default test settings: no dispatch delay beyond 20 ms.
pub fn settings() -> Settings {
    let file = toml::from_str(WORLD).expect("test world parses");
    let mut s = Settings::new(World::from_file(file, None).expect("test world is valid"));
    s.dispatch_delay_ms = 20;
    s
}

/// A running simulator plus an HTTP client.
pub struct Sim {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub base: String,
}

/// Starts a simulator with `tweak` applied to the default settings.
pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Sim {
    let mut s = settings();
    tweak(&mut s);
    let sim = bk_sim::spawn(s).await.expect("bk-sim starts");
    let base = sim.base_url();
    Sim {
        sim,
        http: reqwest::Client::new(),
        base,
    }
}

/// Starts a simulator with the default settings.
pub async fn spawn() -> Sim {
    spawn_with(|_| {}).await
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The gateway auth header for `user`.
pub fn gw_auth(user: &str) -> String {
    json!({"bk_app_code": APP, "bk_app_secret": SECRET, "bk_username": user}).to_string()
}

/// A response as (status, headers, body JSON or Null).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(i64::MIN)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

async fn resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Resp {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

impl Sim {
    /// ESB call with `user`'s credentials in the body (login-exempt app, bk_username).
    pub async fn esb(&self, system: &str, api: &str, user: &str, mut body: Value) -> Resp {
        body["bk_app_code"] = json!(APP);
        body["bk_app_secret"] = json!(SECRET);
        body["bk_username"] = json!(user);
        self.esb_raw(system, api, body).await
    }

    /// ESB call with the body as given.
    pub async fn esb_raw(&self, system: &str, api: &str, body: Value) -> Resp {
        let url = format!("{}/api/c/compapi/v2/{system}/{api}/", self.base);
        resp(
            self.http
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("esb call"),
        )
        .await
    }

    /// Gateway JOB GET with query parameters.
    pub async fn job_get(&self, api: &str, user: &str, query: &[(&str, String)]) -> Resp {
        let url = format!("{}/api/bk-job/prod/api/v3/{api}", self.base);
        let r = self
            .http
            .get(url)
            .header("X-Bkapi-Authorization", gw_auth(user))
            .query(query)
            .send()
            .await;
        resp(r.expect("gateway call")).await
    }

    /// Gateway JOB POST.
    pub async fn job_post(&self, api: &str, user: &str, body: Value) -> Resp {
        self.gateway_post(&format!("/api/bk-job/prod/api/v3/{api}"), user, body)
            .await
    }

    /// Gateway CMDB POST to a resource path such as `/api/v3/hosts/app/3/list_hosts`.
    pub async fn cmdb_post(&self, path: &str, user: &str, body: Value) -> Resp {
        self.gateway_post(&format!("/api/bk-cmdb/prod{path}"), user, body)
            .await
    }

    /// Gateway CMDB GET of a resource path such as `/api/v3/hosts/0/101`.
    pub async fn cmdb_get(&self, path: &str, user: &str) -> Resp {
        let r = self
            .http
            .get(format!("{}/api/bk-cmdb/prod{path}", self.base))
            .header("X-Bkapi-Authorization", gw_auth(user))
            .send()
            .await;
        resp(r.expect("gateway call")).await
    }

    /// POST through the API gateway front door, authenticated as `user`.
    async fn gateway_post(&self, path: &str, user: &str, body: Value) -> Resp {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("X-Bkapi-Authorization", gw_auth(user))
            .json(&body)
            .send()
            .await;
        resp(r.expect("gateway call")).await
    }

    /// Admin GET.
    pub async fn admin_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/_sim{path}", self.base))
            .send()
            .await
            .expect("admin call");
        r.json().await.expect("admin json")
    }

    /// Admin PUT with a JSON body; returns the status.
    pub async fn admin_put(&self, path: &str, body: Value) -> u16 {
        let r = self
            .http
            .put(format!("{}/_sim{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("admin call");
        r.status().as_u16()
    }

    /// Runs `script` on `hosts` through the gateway; returns the job instance id.
    pub async fn run_script(&self, script: &str, param: &str, hosts: &[i64], extra: Value) -> i64 {
        let mut body = json!({
            "bk_scope_type": "biz", "bk_scope_id": GAME_BIZ.to_string(),
            "script_content": b64(script), "script_param": b64(param), "script_language": 1,
            "account_alias": "root", "target_server": {"host_id_list": hosts},
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let r = self.job_post("fast_execute_script", "admin", body).await;
        assert_eq!(r.code(), 0, "launch failed: {}", r.body);
        r.body["data"]["job_instance_id"].as_i64().expect("job id")
    }

    /// Status with host results, via the gateway.
    pub async fn status(&self, job: i64) -> Value {
        let q = [
            ("bk_scope_type", "biz".to_string()),
            ("bk_scope_id", GAME_BIZ.to_string()),
            ("job_instance_id", job.to_string()),
            ("return_ip_result", "true".to_string()),
        ];
        let r = self.job_get("get_job_instance_status", "admin", &q).await;
        assert_eq!(r.code(), 0, "status failed: {}", r.body);
        r.body["data"].clone()
    }

    /// Polls the status without host results until `finished` (bounded at `secs`), then returns it with them.
    pub async fn wait_finished_light(&self, job: i64, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let q = [
            ("bk_scope_type", "biz".to_string()),
            ("bk_scope_id", GAME_BIZ.to_string()),
            ("job_instance_id", job.to_string()),
        ];
        loop {
            let r = self.job_get("get_job_instance_status", "admin", &q).await;
            if r.body["data"]["finished"] == json!(true) {
                return self.status(job).await;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} did not finish: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls the status until `finished` (bounded at 30 s).
    pub async fn wait_finished(&self, job: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.status(job).await;
            if s["finished"] == json!(true) {
                return s;
            }
            assert!(Instant::now() < deadline, "job {job} did not finish: {s}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls until `pred` holds on the status (bounded at 30 s).
    pub async fn wait_until(&self, job: i64, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.status(job).await;
            if pred(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "condition never held for job {job}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Log of one host of the job's first step.
    pub async fn log(&self, job: i64, host: i64) -> Value {
        let s = self.status(job).await;
        let step = s["step_instance_list"][0]["step_instance_id"]
            .as_i64()
            .expect("step id");
        let q = [
            ("bk_scope_type", "biz".to_string()),
            ("bk_scope_id", GAME_BIZ.to_string()),
            ("job_instance_id", job.to_string()),
            ("step_instance_id", step.to_string()),
            ("bk_host_id", host.to_string()),
        ];
        self.job_get("get_job_instance_ip_log", "admin", &q)
            .await
            .body["data"]["log_content"]
            .clone()
    }
}

/// Per-host results of the first step, by host id: (status, exit_code).
pub fn host_results(status: &Value) -> Vec<(i64, i64, i64)> {
    let list = status["step_instance_list"][0]["step_ip_result_list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<(i64, i64, i64)> = list
        .iter()
        .map(|h| {
            (
                h["bk_host_id"].as_i64().unwrap_or(-1),
                h["status"].as_i64().unwrap_or(-1),
                h["exit_code"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    out.sort();
    out
}

/// Sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}
