//! Postgres access: the pool, migrations, and (as the backup issue lands) every SQL statement
//! of the service. Nothing outside this module writes SQL.

use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::config::DatabaseSettings;

pub mod audit;
mod backup_list;
pub mod backups;
pub mod cancel;
mod copy;
pub mod details;
pub mod events;
pub mod finish;
pub mod records;
pub mod retention;
pub mod schedule_fires;
mod schedule_list;
mod schedule_overlap;
pub mod schedule_run_list;
pub mod schedule_runs;
pub mod schedules;
pub mod stats;
pub mod work;

/// Errors from the store; the SQL text never leaves this module's log lines.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// This worker's claim on the backup was taken over; it must stop writing.
    #[error("claim on backup `{0}` lost to another worker")]
    Fenced(uuid::Uuid),
    /// Another schedule of the business, not deleted, has this name.
    #[error("schedule name `{name}` is taken in business {bk_biz_id}")]
    NameTaken {
        /// Business.
        bk_biz_id: i64,
        /// The name asked for.
        name: String,
    },
    /// The caller's etag is not the schedule's current one: someone changed it since.
    #[error("schedule `{id}` changed since it was read (etag {given}, now {current})")]
    StaleEtag {
        /// Schedule.
        id: uuid::Uuid,
        /// The etag the caller gave.
        given: i64,
        /// The schedule's etag now.
        current: i64,
    },
    /// A fire's derived request id is already a client's backup: the fire starts nothing.
    #[error("request id `{0}` of a schedule's fire is already used by another backup")]
    RequestIdTaken(String),
}

impl StoreError {
    /// True when the database could not be reached or went away (no connection within the
    /// pool's timeout, a broken connection, the server shutting down): worth a retry later,
    /// unlike a failed statement.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            // Class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown,
            // cannot connect now).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            _ => false,
        }
    }
}

/// Ends `tx` with what `work` in it returned: commits when it says so, otherwise rolls back
/// and waits for the rollback. A transaction merely dropped rolls back only when the pool next
/// gets to its connection, and until then keeps its row locks: a schedule row left locked that
/// way was skipped by every replica's claim (`FOR UPDATE SKIP LOCKED`) and its fire made late.
pub(crate) async fn settle<T>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> Result<(T, bool), StoreError>,
) -> Result<T, StoreError> {
    match work(&mut tx).await {
        Ok((value, true)) => {
            tx.commit().await?;
            Ok(value)
        }
        Ok((value, false)) => {
            tx.rollback().await?;
            Ok(value)
        }
        Err(e) => {
            // The statement's error is the one worth reporting.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// The businesses a listing may show: any (its own filter names one the caller may act on),
/// or only the caller's. Not a filter of the caller's, so page tokens do not carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    /// Every business.
    Any,
    /// Only these businesses.
    Only(Arc<Vec<i64>>),
}

impl Within {
    /// Adds the condition on `bk_biz_id` (none for [`Within::Any`]).
    pub(crate) fn push(&self, q: &mut QueryBuilder<'_, Postgres>) {
        if let Self::Only(ids) = self {
            q.push(" and bk_biz_id = any(")
                .push_bind(ids.as_ref().clone())
                .push(")");
        }
    }
}

/// The migrations in the repository's `migrations/` folder, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Opens the pool. Connections are made lazily so start-up reports a bad URL before any I/O,
/// and the first real query reports an unreachable server.
pub fn pool(options: PgConnectOptions, settings: &DatabaseSettings) -> PgPool {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_millis(settings.connect_timeout_ms))
        .connect_lazy_with(options)
}

/// Applies pending migrations; safe to run from several replicas at once (sqlx takes an
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrations = false)]
    async fn migrations_create_every_table_the_backup_flow_needs(pool: PgPool) {
        migrate(&pool).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "select table_name::text from information_schema.tables \
             where table_schema = 'public' and table_name like 'backup%' order by 1",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(
            tables,
            ["backup_events", "backup_hosts", "backup_records", "backups"]
        );
    }

    #[sqlx::test(migrations = false)]
    async fn running_migrations_twice_is_harmless(pool: PgPool) {
        migrate(&pool).await.unwrap();
        migrate(&pool).await.unwrap();
        let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(applied as usize, MIGRATOR.iter().count());
    }
}
