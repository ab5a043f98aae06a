//! File-transfer steps (fast_transfer_file): what to copy, and the per-file logs JOB reports.

use serde_json::{Value, json};

/// One source file on one source host.
#[derive(Debug, Clone)]
pub struct FileSource {
    pub host_id: i64,
    pub ip: String,
    pub cloud_id: i64,
    /// Absolute path on the source host (a file or a directory).
    pub path: String,
}

/// A file step.
#[derive(Debug, Clone)]
pub struct FileTransfer {
    /// Absolute target directory on every target host.
    pub target_dir: String,
    /// Rename the copy (`file_target_name`).
    pub target_name: Option<String>,
    pub sources: Vec<FileSource>,
    pub timeout_secs: u64,
}

/// File log status (`FileDistStatusEnum`).
pub mod file_status {
    pub const SUCCESS: i32 = 4;
    pub const FAILED: i32 = 5;
}

/// One upload (mode 0) or download (mode 1) log entry.
#[derive(Debug, Clone)]
pub struct FileLog {
    pub mode: i32,
    pub src: (i64, i64, String),
    pub src_path: String,
    pub dest: Option<(i64, i64, String)>,
    pub dest_path: Option<String>,
    pub status: i32,
    pub log_content: String,
    pub size: u64,
}

fn ip_json((host_id, cloud_id, ip): &(i64, i64, String)) -> Value {
    json!({"bk_host_id": host_id, "bk_cloud_id": cloud_id, "ip": ip, "bk_cloud_name": null, "ipv6": null,
        "bk_agent_id": null, "alive": null})
}

/// Human size as JOB prints it (`"12.5 KB"`).
pub fn human_size(n: u64) -> String {
    let n = n as f64;
    match n {
        n if n >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GB", n / (1024.0 * 1024.0 * 1024.0)),
        n if n >= 1024.0 * 1024.0 => format!("{:.1} MB", n / (1024.0 * 1024.0)),
        n if n >= 1024.0 => format!("{:.1} KB", n / 1024.0),
        n => format!("{n} B"),
    }
}

impl FileLog {
    /// The `file_log` object of the log APIs.
    pub fn to_json(&self) -> Value {
        let done = self.status == file_status::SUCCESS;
        json!({
            "mode": self.mode,
            "src_ip": ip_json(&self.src),
            "src_path": self.src_path,
            "dest_ip": self.dest.as_ref().map(ip_json),
            "dest_path": self.dest_path,
            "status": self.status,
            "log_content": self.log_content,
            "size": human_size(self.size),
            "speed": if done { "0 KB/s" } else { "--" },
            "process": if done { "100%" } else { "0%" },
        })
    }
}
