//! SQL for ListScheduleRuns: one page of a schedule's runs, newest nominal time first, each with
//! the current state of the backup it started, read in one statement (no query per run).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::StoreError;
use super::schedule_fires::{RUN_COLUMNS, RunRow};
use crate::domain::BackupState;

/// A run and its backup's state now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunWithBackup {
    /// The run.
    #[sqlx(flatten)]
    pub run: RunRow,
    /// Its backup's state; `None` when it started none.
    pub backup_state: Option<BackupState>,
}

/// One page of schedule `schedule_id`'s runs, newest (nominal time) first, before `before`
/// when given; one row more than `page_size` tells the caller another page exists.
pub async fn page(
    pool: &PgPool,
    schedule_id: Uuid,
    before: Option<DateTime<Utc>>,
    page_size: u32,
) -> Result<(Vec<RunWithBackup>, bool), StoreError> {
    let mut rows: Vec<RunWithBackup> = sqlx::query_as(&format!(
        "select r.*, b.state as backup_state from ( \
           select {RUN_COLUMNS} from schedule_runs \
           where schedule_id = $1 and ($2::timestamptz is null or scheduled_at < $2) \
           order by scheduled_at desc limit $3) r \
         left join backups b on b.id = r.backup_id \
         order by r.scheduled_at desc"
    ))
    .bind(schedule_id)
    .bind(before)
    .bind(i64::from(page_size) + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() > page_size as usize;
    rows.truncate(page_size as usize);
    Ok((rows, more))
}
