//! The measuring helpers: the timed 100k-record inserts, filling the listing table, walking
//! page tokens to a deep page, and timing one case's calls into [`Samples`].

use std::time::{Duration, Instant};

use sqlx::PgPool;

use backup_service::records::RecordFilter;
use backup_service::store::{self, records::NewRecord};

use crate::cases::Case;
use crate::data::{self, Plan};
use crate::rng::Rng;
use crate::{Client, INSERT_ROWS, TABLE_ROWS, cases, load};

/// Inserts `runs` backups of 100k records, each in its own transaction; sorted durations.
pub async fn insert_runs(
    pool: &PgPool,
    rng: &mut Rng,
    runs: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut took = Vec::with_capacity(runs);
    for run in 1..=runs {
        let plan = Plan::insert_bench(rng, run);
        data::insert_backups(pool, std::slice::from_ref(&plan)).await?;
        let rows: Vec<NewRecord> = data::records(&plan);
        let before: i64 = sqlx::query_scalar("select count(*) from backup_records")
            .fetch_one(pool)
            .await?;
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        let inserted = store::records::insert(&mut tx, &rows).await?;
        tx.commit().await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(inserted == INSERT_ROWS as u64, "inserted {inserted} rows");
        println!(
            "run {run}: {inserted} records in {:.3} s (table had {before} rows; load {})",
            elapsed.as_secs_f64(),
            load()
        );
        took.push(elapsed);
    }
    took.sort();
    Ok(took)
}

/// Loads `plans` server-side with the secondary indexes dropped, rebuilds them, and ANALYZEs.
pub async fn fill(pool: &PgPool, plans: &[Plan]) -> anyhow::Result<()> {
    let started = Instant::now();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.relname::text, pg_get_indexdef(x.indexrelid) from pg_index x \
         join pg_class i on i.oid = x.indexrelid \
         where x.indrelid = 'backup_records'::regclass \
           and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)",
    )
    .fetch_all(pool)
    .await?;
    for (name, _) in &indexes {
        sqlx::raw_sql(&format!("drop index {name}"))
            .execute(pool)
            .await?;
    }
    data::insert_backups(pool, plans).await?;
    // Two lanes of 200-backup statements keep both cores busy.
    let shared = std::sync::Arc::new(plans.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..2 {
        let (pool, plans) = (pool.clone(), shared.clone());
        tasks.spawn(async move {
            for chunk in plans.chunks(200).skip(lane).step_by(2) {
                data::generate_records(&pool, chunk).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let loaded = started.elapsed();
    let mut tasks = tokio::task::JoinSet::new();
    for (_, def) in indexes {
        let pool = pool.clone();
        // One simple-query message: the `set` applies to the session that builds the index.
        let sql = format!("set maintenance_work_mem = '256MB'; {def}");
        tasks.spawn(async move {
            sqlx::raw_sql(&sql).execute(&pool).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let indexed = started.elapsed();
    sqlx::raw_sql("analyze backups; analyze backup_records")
        .execute(pool)
        .await?;
    let (rows, size): (i64, String) = sqlx::query_as(
        "select count(*), pg_size_pretty(pg_total_relation_size('backup_records')) \
         from backup_records",
    )
    .fetch_one(pool)
    .await?;
    println!(
        "{rows} records in {} backups ({size} with indexes): rows {:.1} s, indexes {:.1} s, \
         analyze {:.1} s",
        plans.len(),
        loaded.as_secs_f64(),
        (indexed - loaded).as_secs_f64(),
        (started.elapsed() - indexed).as_secs_f64()
    );
    anyhow::ensure!(rows == TABLE_ROWS, "table has {rows} rows");
    Ok(())
}

/// Follows page tokens through gRPC until `skip` rows are behind; the token of the next page.
pub async fn walk(client: &mut Client, filter: &RecordFilter, skip: u32) -> anyhow::Result<String> {
    let mut token = String::new();
    let mut left = skip;
    let mut last: Option<(i64, i32, i64)> = None;
    while left > 0 {
        let size = left.min(1000);
        let page = client
            .list_backup_records(cases::request(filter, size, &token))
            .await?
            .into_inner();
        // A path search may return short pages (one bounded window per call); any other
        // filter fills every page but the last.
        anyhow::ensure!(
            !page.next_page_token.is_empty()
                && (page.records.len() == size as usize || filter.path_contains.is_some()),
            "the result ended before {skip} rows"
        );
        for r in &page.records {
            let t = r.bk_file_create_time.unwrap_or_default();
            let key = (t.seconds, t.nanos, r.id);
            anyhow::ensure!(last.is_none_or(|l| key < l), "pages out of order");
            last = Some(key);
        }
        token = page.next_page_token;
        left -= page.records.len() as u32;
    }
    Ok(token)
}

/// Latencies of one case at one layer.
pub struct Samples {
    pub took: Vec<Duration>,
    pub rows: usize,
}

impl Samples {
    pub fn quantile(&self, q: f64) -> f64 {
        let i = ((q * self.took.len() as f64).ceil() as usize).clamp(1, self.took.len()) - 1;
        self.took[i].as_secs_f64() * 1e3
    }
}

/// Runs `call` `iterations` times (after a warm-up; at most ~10 s), cycling the case's filters.
pub async fn measure<F, Fut>(iterations: usize, case: &Case, call: F) -> anyhow::Result<Samples>
where
    F: Fn(RecordFilter) -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    // The first filter's page size is the one reported; the warm-up also fills the caches.
    let rows = call(case.filters[0].clone()).await?;
    for filter in case.filters.iter().cycle().take(20) {
        call(filter.clone()).await?;
    }
    let budget = Instant::now();
    let mut took = Vec::with_capacity(iterations);
    for filter in case.filters.iter().cycle().take(iterations) {
        let started = Instant::now();
        call(filter.clone()).await?;
        took.push(started.elapsed());
        if took.len() >= 50 && budget.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    took.sort();
    Ok(Samples { took, rows })
}
