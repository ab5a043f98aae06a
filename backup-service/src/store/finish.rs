//! SQL for the end of a worker's run: live per-host progress while the job runs, and the one
//! transaction that writes an [`Outcome`] — records for copied files, per-host results, and
//! the final state — as it was decided in `outcome`. Both are fenced like every worker write
//! (see `work.rs`).

use sqlx::PgPool;
use sqlx::types::Json;

use super::backups::counts;
use super::records;
use super::work::{Fence, begin};
use super::{StoreError, events};
use crate::domain::{BackupState, FailureReason, HostReason, HostState};
use crate::events::{Event, HostSummary};
use crate::outcome::{HostOutcome, Outcome, cancelled, cancelled_host_note};

/// Live status of hosts while the job runs; writes and announces only real changes, in one
/// statement for the hosts and one append for their events whatever the number of hosts.
pub async fn host_progress(
    pool: &PgPool,
    fence: Fence,
    updates: &[(i64, HostState, Option<i32>)],
) -> Result<usize, StoreError> {
    let (mut tx, _) = begin(pool, fence).await?;
    let mut changed: Vec<(i64, i64)> = sqlx::query_as(
        "update backup_hosts h set status = u.status, job_host_status_code = u.code, \
           updated_at = now() \
         from unnest($2::int8[], $3::text[], $4::int4[]) with ordinality as u(host, status, code, n) \
         where h.backup_id = $1 and h.bk_host_id = u.host and h.status in ('pending', 'running') \
           and (h.status <> u.status or h.job_host_status_code is distinct from u.code) \
         returning u.n, h.bk_host_id",
    )
    .bind(fence.id)
    .bind(updates.iter().map(|u| u.0).collect::<Vec<_>>())
    .bind(updates.iter().map(|u| u.1.as_str()).collect::<Vec<_>>())
    .bind(updates.iter().map(|u| u.2).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    // Events in the order the hosts were given.
    changed.sort_unstable();
    let events: Vec<Event> = changed
        .iter()
        .map(|(n, _)| {
            let (host, status, code) = updates[usize::try_from(*n - 1).expect("1-based")];
            Event::HostProgress {
                bk_host_id: host,
                status,
                job_host_status_code: code,
                files_done: None,
            }
        })
        .collect();
    events::append_all(&mut tx, fence.id, &events).await?;
    tx.commit().await?;
    Ok(events.len())
}

/// Announces how many files running hosts have done so far (`(host, files)`, as their logs
/// say), one event each, with the host's current status; nothing else changes.
pub async fn files_done(
    pool: &PgPool,
    fence: Fence,
    done: &[(i64, i64)],
) -> Result<(), StoreError> {
    let (mut tx, _) = begin(pool, fence).await?;
    let rows: Vec<(i64, HostState, Option<i32>)> = sqlx::query_as(
        "select bk_host_id, status, job_host_status_code from backup_hosts \
         where backup_id = $1 and bk_host_id = any($2) and status in ('pending', 'running')",
    )
    .bind(fence.id)
    .bind(done.iter().map(|d| d.0).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let events: Vec<Event> = done
        .iter()
        .filter_map(|(host, files)| {
            let (_, status, code) = rows.iter().find(|r| r.0 == *host)?;
            Some(Event::HostProgress {
                bk_host_id: *host,
                status: *status,
                job_host_status_code: *code,
                files_done: Some(*files),
            })
        })
        .collect();
    events::append_all(&mut tx, fence.id, &events).await?;
    tx.commit().await?;
    Ok(())
}

/// A host's result as an UPDATE returns it, with the host's position in the input.
#[derive(sqlx::FromRow)]
pub(super) struct Numbered {
    /// 1-based position in the input.
    pub n: i64,
    /// The result.
    #[sqlx(flatten)]
    pub host: HostSummary,
}

/// One field of every host, as a column to bind for `unnest`.
fn column<'a, T>(hosts: &'a [HostOutcome], field: impl Fn(&'a HostOutcome) -> T) -> Vec<T> {
    hosts.iter().map(field).collect()
}

/// Writes `outcome` in one transaction: records, host results and their events, totals, the
/// final state and its event; releases the lease. Returns the number of new records.
pub async fn finish(pool: &PgPool, fence: Fence, outcome: &Outcome) -> Result<u64, StoreError> {
    let (mut tx, row) = begin(pool, fence).await?;
    let launched = row.job_instance_id.is_some();
    // A host the cancel ended without a word of its own says so.
    let excerpt = |h: &HostOutcome| -> String {
        if h.status == HostState::Cancelled && h.log_excerpt.is_empty() {
            cancelled_host_note(launched).to_owned()
        } else {
            h.log_excerpt.clone()
        }
    };
    let inserted = records::insert(&mut tx, &outcome.records).await?;
    let mut finished: Vec<Numbered> = sqlx::query_as(
        "update backup_hosts h set status = u.status, reason = u.reason, \
           log_excerpt = u.log_excerpt, exit_code = u.exit_code, \
           job_host_status_code = coalesce(u.code, h.job_host_status_code), \
           files_found = u.found, files_copied = u.copied, files_failed = u.failed, \
           files_unknown = u.unknown, bytes_copied = u.bytes, failed_files = u.failed_files, \
           updated_at = now() \
         from unnest($2::int8[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int4[], \
           $8::int4[], $9::int4[], $10::int4[], $11::int4[], $12::int8[], $13::jsonb[]) \
           with ordinality as u(host, status, reason, log_excerpt, exit_code, code, found, \
             copied, failed, unknown, bytes, failed_files, n) \
         where h.backup_id = $1 and h.bk_host_id = u.host and h.status in ('pending', 'running') \
         returning u.n, h.bk_host_id, h.bk_cloud_id, h.host_ip, h.status, h.reason, \
           h.log_excerpt, h.exit_code, h.job_host_status_code, h.files_found, h.files_copied, \
           h.files_failed, h.files_unknown, h.bytes_copied, h.updated_at",
    )
    .bind(fence.id)
    .bind(column(&outcome.hosts, |h| h.bk_host_id))
    .bind(column(&outcome.hosts, |h| h.status.as_str()))
    .bind(column(&outcome.hosts, |h| h.reason.map(HostReason::as_str)))
    .bind(column(&outcome.hosts, excerpt))
    .bind(column(&outcome.hosts, |h| h.exit_code))
    .bind(column(&outcome.hosts, |h| h.job_host_status_code))
    .bind(column(&outcome.hosts, |h| h.files_found))
    .bind(column(&outcome.hosts, |h| h.files_copied))
    .bind(column(&outcome.hosts, |h| h.files_failed))
    .bind(column(&outcome.hosts, |h| h.files_unknown))
    .bind(column(&outcome.hosts, |h| h.bytes_copied))
    .bind(column(&outcome.hosts, |h| Json(&h.failed_files)))
    .fetch_all(&mut *tx)
    .await?;
    // Events in the order the hosts were given.
    finished.sort_unstable_by_key(|f| f.n);
    let mut announced: Vec<Event> = finished
        .into_iter()
        .map(|f| Event::HostFinished(f.host))
        .collect();
    announced.push(Event::CountsChanged(counts(&mut tx, fence.id).await?));
    events::append_all(&mut tx, fence.id, &announced).await?;
    // A cancelled backup ends CANCELLED, as CancelBackup promised, keeping the records of
    // everything copied — also when the cancel arrived after the worker stopped watching for
    // it (the job had already finished copying). Its message says who cancelled and what was
    // kept where.
    let (state, failure_reason, message) = if row.state() == BackupState::Cancelling {
        let dir = format!("{}/backup/{}", row.bk_file_dir, row.backup_name);
        cancelled(outcome, row.cancel_requested_by.as_deref(), &dir, launched)
    } else {
        (
            outcome.state,
            outcome.failure_reason,
            outcome.message.clone(),
        )
    };
    sqlx::query(
        "update backups set state = $2, failure_reason = $3, status_message = $4, phase = null, \
           finished_at = now(), lease_owner = null, lease_expires_at = null where id = $1",
    )
    .bind(fence.id)
    .bind(state.as_str())
    .bind(failure_reason.map(FailureReason::as_str))
    .bind(&message)
    .execute(&mut *tx)
    .await?;
    let event = Event::StateChanged {
        state,
        phase: None,
        failure_reason,
        message,
        job_instance_id: row.job_instance_id,
        job_url: row.job_url.clone(),
    };
    events::append(&mut tx, fence.id, &event).await?;
    tx.commit().await?;
    Ok(inserted)
}

#[cfg(test)]
#[path = "finish_tests.rs"]
mod tests;
