//! The end phase: every host's result and records from what was collected (judged off the
//! runtime: a host can have a million files), the backup's final state decided by
//! `outcome::decide`, and the one fenced transaction that writes it all.

use chrono::Utc;

use super::collect::Collected;
use super::run::{BackupRun, Halt, RunArgs, off_runtime};
use crate::domain::{FailureReason, HostState};
use crate::outcome::{self, Context, Ending, HostOutcome, HostRun, host_outcome};
use crate::records::NewRecord;
use crate::store::backups::{self, BackupRow};
use crate::store::finish::finish;

impl BackupRun<'_> {
    /// Decides the outcome from every host's evidence and writes it.
    pub(super) async fn end(
        &self,
        row: &BackupRow,
        ending: Ending,
        collected: Collected,
    ) -> Result<(), Halt> {
        let (args, row_owned) = (self.args.clone(), row.clone());
        // Hundreds of thousands of files take a while: off the runtime, so the lease's
        // heartbeat keeps beating.
        let (hosts, records) =
            off_runtime(move || judge(&args, &row_owned, ending, &collected)).await;
        let ran: Vec<i64> = hosts.iter().map(|h| h.bk_host_id).collect();
        let earlier: Vec<HostState> = backups::hosts(self.pool, self.fence.id)
            .await?
            .iter()
            .filter(|h| !ran.contains(&h.bk_host_id))
            .map(|h| h.status)
            .collect();
        let outcome = outcome::decide(&earlier, hosts, records, ending);
        let written = finish(self.pool, self.fence, &outcome).await?;
        tracing::info!(
            backup_id = %self.fence.id,
            operator = %self.args.operator,
            state = outcome.state.as_str(),
            failure_reason = outcome.failure_reason.map(FailureReason::as_str),
            status_message = %outcome.message,
            records = written,
            "backup finished"
        );
        Ok(())
    }
}

/// Every host's result and records from what was collected.
fn judge(
    args: &RunArgs,
    row: &BackupRow,
    ending: Ending,
    collected: &Collected,
) -> (Vec<HostOutcome>, Vec<NewRecord>) {
    let job_url = row.job_url.clone().unwrap_or_default();
    let ctx = Context {
        backup_id: row.id,
        bk_biz_id: row.bk_biz_id,
        selection: &args.selection,
        suffix: &row.bk_file_suffix,
        name: &args.name,
        run: &args.run,
        operator: &row.operator,
        job_instance_id: row.job_instance_id.unwrap_or(0),
        job_url: &job_url,
        now: Utc::now(),
        ending,
    };
    let mut hosts = Vec::new();
    let mut records = Vec::new();
    for h in &collected.hosts {
        let (out, mut recs) = host_outcome(
            &ctx,
            HostRun {
                bk_host_id: h.host.bk_host_id,
                bk_cloud_id: h.host.bk_cloud_id,
                ip: &h.host.host_ip,
                result: h.result.as_ref(),
                log: &h.log,
                evidence: &h.evidence,
            },
        );
        hosts.push(out);
        records.append(&mut recs);
    }
    (hosts, records)
}
