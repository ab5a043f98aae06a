//! What a host's result is judged from: the backup's [`Context`], and for each host that ran,
//! JOB's word and the [`Evidence`] the worker gathered (its log, the manifest pages read back,
//! and what `read.sh` said of the manifest).

use chrono::{DateTime, Utc};
use proto::jobgateway::v1::HostResult;
use uuid::Uuid;

use super::Ending;
use crate::hostscript::{
    BackedUpFile, BackupDirName, BackupReport, FileSelection, HostScriptError, RunId,
};

/// Everything about the backup a host's result needs.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Backup.
    pub backup_id: Uuid,
    /// Business.
    pub bk_biz_id: i64,
    /// Directory and suffix.
    pub selection: &'a FileSelection,
    /// The suffix as the caller wrote it (the record's `bk_file_suffix`).
    pub suffix: &'a str,
    /// Backup directory name.
    pub name: &'a BackupDirName,
    /// Run id the scripts echo.
    pub run: &'a RunId,
    /// Operator.
    pub operator: &'a str,
    /// JOB instance and its link.
    pub job_instance_id: i64,
    /// `{job_web_url}/api_execute/{id}`.
    pub job_url: &'a str,
    /// Record creation time.
    pub now: DateTime<Utc>,
    /// How the watch over the job ended: a cancel ends unfinished hosts CANCELLED, a passed
    /// deadline gives every host that did not succeed the reason DEADLINE_EXCEEDED.
    pub ending: Ending,
}

/// What the worker gathered about one host that ran.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The host's backup log, parsed, or why it cannot be trusted.
    pub report: Result<BackupReport, HostScriptError>,
    /// The records a cut log still proves (used only when `report` failed and page 0 of the
    /// manifest could not be read).
    pub proven: Vec<BackedUpFile>,
    /// Records read back from the manifest: pages 1… after a whole log, every page read after
    /// a cut one.
    pub pages: Vec<BackedUpFile>,
    /// What `read.sh` said of the manifest, when it was asked.
    pub manifest: Option<ManifestState>,
    /// Why part of the results could not be read.
    pub unread: Option<String>,
}

impl Evidence {
    /// A host whose log is all there is.
    pub fn from_log(
        report: Result<BackupReport, HostScriptError>,
        proven: Vec<BackedUpFile>,
    ) -> Self {
        Self {
            report,
            proven,
            pages: vec![],
            manifest: None,
            unread: None,
        }
    }
}

/// The manifest as `read.sh` last described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestState {
    /// Files the backup script matched.
    pub found: u64,
    /// The backup script finished writing it.
    pub complete: bool,
    /// Unverified copies `read.sh` removed.
    pub settled: u64,
    /// Page 0 was read back (so `Evidence::pages` holds it).
    pub page0_read: bool,
}

/// A host as JOB reported it, with the evidence gathered.
#[derive(Debug, Clone, Copy)]
pub struct HostRun<'a> {
    /// Host.
    pub bk_host_id: i64,
    /// Control area.
    pub bk_cloud_id: i64,
    /// IP.
    pub ip: &'a str,
    /// JOB's per-host result, if it had one.
    pub result: Option<&'a HostResult>,
    /// The host's backup log (for excerpts).
    pub log: &'a str,
    /// Everything read about its files.
    pub evidence: &'a Evidence,
}
