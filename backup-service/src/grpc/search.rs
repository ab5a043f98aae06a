//! SearchFiles: runs our search script on the hosts through JOB, waits for it, and parses each
//! host's log. Offline agents are reported as skipped without being sent; a log that cannot be
//! trusted fails its host rather than yielding a partial list.

use std::time::Duration;

use proto::backup::v1 as pb;
use proto::jobgateway::v1::HostLog;
use uuid::Uuid;

use super::BackupApi;
use crate::convert::{file_selection, hosts, raw_if_not_utf8, timestamp};
use crate::error::{BackupError, Result};
use crate::gateway::{Launch, Polling, Which};
use crate::hostscript::{
    FileSelection, HostStatus, MAX_FILES_LIMIT, RunId, SEARCH_SH, WarningKind, parse_search_output,
    search_script_param,
};
use crate::outcome::{excerpt, tail};

/// JOB timeout of a search.
const SEARCH_TIMEOUT_SECS: i32 = 300;

impl BackupApi {
    pub(super) async fn search(
        &self,
        req: pb::SearchFilesRequest,
        operator: &str,
    ) -> Result<pb::SearchFilesResponse> {
        let pb::SearchFilesRequest {
            bk_biz_id,
            bk_host_ids,
            bk_file_dir,
            bk_file_suffix,
            include_previous_backups,
            max_files_per_host,
            selector,
        } = req;
        if bk_biz_id <= 0 {
            return Err(BackupError::invalid("bk_biz_id", "must be positive"));
        }
        let (listed, selector) = hosts(bk_host_ids, selector, self.limits.max_hosts)?;
        let limit = match u32::try_from(max_files_per_host) {
            Ok(0) => self.limits.max_files_per_host,
            // Above the maximum: clamped to it, as the proto promises.
            Ok(n) => n.min(MAX_FILES_LIMIT),
            Err(_) => {
                return Err(BackupError::invalid(
                    "max_files_per_host",
                    "must not be negative",
                ));
            }
        };
        let (selection, _) = file_selection(&bk_file_dir, &bk_file_suffix, limit)?;
        // A resolved selector proves its hosts are in the business; a list is checked.
        let hosts = match selector {
            Some(sel) => self.resolve(bk_biz_id, &sel, operator).await?,
            None => {
                self.check_hosts(bk_biz_id, &listed, operator).await?;
                listed
            }
        };
        let run_uuid = Uuid::new_v4();
        let run = RunId::new(&run_uuid.simple().to_string()).expect("a uuid is a valid run id");

        let agents = self
            .gateway
            .agent_status(bk_biz_id, &hosts, operator)
            .await?;
        let mut results: Vec<pb::HostSearchResult> = hosts
            .iter()
            .map(|h| {
                let a = agents.iter().find(|a| a.bk_host_id == *h);
                pb::HostSearchResult {
                    bk_host_id: *h,
                    bk_cloud_id: a.map(|a| a.bk_cloud_id).unwrap_or(0),
                    ip: a.map(|a| a.ip.clone()).unwrap_or_default(),
                    status: pb::HostSearchStatus::Skipped as i32,
                    reason: pb::HostFailureReason::AgentOffline as i32,
                    ..Default::default()
                }
            })
            .collect();
        let online: Vec<i64> = hosts
            .iter()
            .copied()
            .filter(|h| agents.iter().any(|a| a.bk_host_id == *h && a.alive))
            .collect();
        if online.is_empty() {
            return Ok(pb::SearchFilesResponse {
                host_results: results,
                ..Default::default()
            });
        }
        let param = search_script_param(&selection, include_previous_backups, &run);
        let job = self
            .gateway
            .run(
                Which::Search,
                Launch {
                    bk_biz_id,
                    script: SEARCH_SH,
                    param: &param,
                    hosts: &online,
                    timeout_secs: SEARCH_TIMEOUT_SECS,
                    task_name: &format!("bk-log-backup search {run_uuid}"),
                    operator,
                },
            )
            .await?;
        let polling = Polling {
            first: Duration::from_millis(100),
            max: Duration::from_secs(2),
            // JOB's own timeout bounds the job; a margin for its answer.
            limit: Duration::from_secs(SEARCH_TIMEOUT_SECS as u64 + 60),
        };
        let status = self
            .gateway
            .until_finished(bk_biz_id, &job, operator, polling)
            .await?;
        let logs = self
            .gateway
            .step_logs(bk_biz_id, &job, &status, &online, operator)
            .await?;
        for r in results
            .iter_mut()
            .filter(|r| online.contains(&r.bk_host_id))
        {
            let log = logs.iter().find(|l| l.bk_host_id == r.bk_host_id);
            fill(r, log, &selection, &run);
        }
        Ok(pb::SearchFilesResponse {
            total_file_count: results.iter().map(|r| r.file_count).sum(),
            total_size_bytes: results.iter().map(|r| r.total_size_bytes).sum(),
            host_results: results,
            job_instance_id: job.job_instance_id,
            job_url: job.job_url,
        })
    }
}

fn fill(r: &mut pb::HostSearchResult, log: Option<&HostLog>, sel: &FileSelection, run: &RunId) {
    let text = log
        .filter(|l| l.found)
        .map(|l| l.log_content.as_str())
        .unwrap_or_default();
    match parse_search_output(text.as_bytes(), sel, run) {
        Ok(report) => {
            let (status, reason) = match report.status {
                HostStatus::Ok => (
                    pb::HostSearchStatus::Found,
                    pb::HostFailureReason::Unspecified,
                ),
                HostStatus::NoFiles => (
                    pb::HostSearchStatus::NoFiles,
                    pb::HostFailureReason::Unspecified,
                ),
                HostStatus::DirMissing | HostStatus::NotADirectory => (
                    pb::HostSearchStatus::Failed,
                    pb::HostFailureReason::DirectoryMissing,
                ),
                HostStatus::PermissionDenied => (
                    pb::HostSearchStatus::Failed,
                    pb::HostFailureReason::PermissionDenied,
                ),
                HostStatus::BackupExists | HostStatus::DiskFull | HostStatus::ScriptError => (
                    pb::HostSearchStatus::Failed,
                    pb::HostFailureReason::ScriptError,
                ),
            };
            r.status = status as i32;
            r.reason = reason as i32;
            r.log_excerpt = report.error.clone().unwrap_or_default();
            r.file_count = report.found as i64;
            r.total_size_bytes = report.total_bytes as i64;
            r.truncated = report.truncated;
            r.unreadable_count = report
                .warnings
                .iter()
                .filter(|w| w.kind == WarningKind::UnreadableDir)
                .count() as i64;
            // The script lists the first files in byte order of their relative paths, which is
            // the order of their absolute paths.
            r.files = report
                .files
                .into_iter()
                .map(|f| pb::FoundFile {
                    path: f.path.display.clone(),
                    path_bytes: raw_if_not_utf8(&f.path.bytes),
                    size_bytes: f.size as i64,
                    mtime: chrono::DateTime::from_timestamp(f.mtime, 0).map(timestamp),
                })
                .collect();
        }
        Err(e) => {
            r.status = pb::HostSearchStatus::Failed as i32;
            r.reason = if text.trim().is_empty() {
                pb::HostFailureReason::JobError
            } else {
                pb::HostFailureReason::OutputInvalid
            } as i32;
            r.log_excerpt = excerpt(&format!("{e}; log tail: {}", tail(text)));
        }
    }
}
