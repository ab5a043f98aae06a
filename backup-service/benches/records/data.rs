//! The generated data: backups with realistic shapes (plans), their records built in memory or
//! generated server-side, and inserting the backups they belong to.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use backup_service::store::records::NewRecord;

use crate::now;
use crate::rng::Rng;

/// Businesses: (weight, id, host pool size). Hosts of business `b` are `b * 10_000 + 1..`.
const BIZ: [(u64, i64, i64); 8] = [
    (40, 1, 800),
    (20, 2, 400),
    (15, 3, 300),
    (10, 4, 200),
    (6, 5, 120),
    (4, 6, 80),
    (3, 7, 60),
    (2, 8, 40),
];
pub const DIRS: [(u64, &str); 8] = [
    (25, "/data/logs/game"),
    (15, "/var/log/nginx"),
    (15, "/project"),
    (10, "/data/app/payment/logs"),
    (10, "/opt/bk/logs"),
    (10, "/var/log/app"),
    (8, "/data/mysql/log"),
    (7, "/home/user00/logs"),
];
pub const SUFFIXES: [(u64, &str); 6] = [
    (55, "log"),
    (15, "txt"),
    (10, "out"),
    (8, "err"),
    (7, "gz"),
    (5, "json"),
];
/// Operators, most active first.
pub const OPERATORS: [&str; 30] = [
    "admin",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "xiao_ming",
    "li_lei",
    "han_meimei",
    "zhang_wei",
    "wang_fang",
    "liu_yang",
    "chen_jie",
    "yang_li",
    "zhao_min",
    "sun_hao",
];
/// File name stems, repeated by frequency: `error` is 15%, `slow_query` 5%.
const NAMES: [&str; 20] = [
    "app",
    "app",
    "app",
    "app",
    "app",
    "access",
    "access",
    "access",
    "access",
    "error",
    "error",
    "error",
    "debug",
    "debug",
    "gc",
    "game_server",
    "login",
    "chat",
    "audit",
    "slow_query",
];
/// Days the backups are spread over, ending at `now()`.
const DAYS: i64 = 180;

/// One backup: `hosts` consecutive hosts from `first_host`, `files` records per host.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: Uuid,
    pub biz: i64,
    pub dir: &'static str,
    pub suffix: &'static str,
    pub operator: &'static str,
    pub first_host: i64,
    pub hosts: i64,
    pub files: i32,
    pub created: DateTime<Utc>,
    pub job_instance_id: i64,
}

impl Plan {
    /// The 100k-record backup the insert benchmark writes: 1,000 hosts × 100 files.
    pub fn insert_bench(rng: &mut Rng, run: usize) -> Self {
        Self {
            id: rng.uuid(),
            biz: 1,
            dir: "/data/logs/game",
            suffix: "log",
            operator: "admin",
            first_host: 90_001,
            hosts: 1000,
            files: 100,
            created: now() + Duration::minutes(run as i64),
            job_instance_id: 9_000_000 + run as i64,
        }
    }

    fn name(&self) -> String {
        let short = self.id.simple().to_string();
        format!(
            "backup_{}_{}",
            self.finished().format("%Y%m%d_%H%M%S"),
            &short[..8]
        )
    }

    /// When the worker wrote the records: `bk_file_create_time` of all of them.
    fn finished(&self) -> DateTime<Utc> {
        self.created + Duration::minutes(5)
    }
}

/// Backups adding up to exactly `rows` records, oldest first (ids grow with time).
pub fn plan(rng: &mut Rng, rows: i64) -> Vec<Plan> {
    let mut plans = Vec::new();
    let mut total = 0;
    while total < rows {
        let (biz, pool) = rng.weighted(&BIZ.map(|(w, b, p)| (w, (b, p))));
        let mut hosts = 1 + rng.below(40) as i64;
        hosts = hosts.min(pool);
        let first_host = biz * 10_000 + 1 + rng.below((pool - hosts + 1) as u64) as i64;
        let mut files = 1 + rng.below(30) as i32;
        if total + hosts * i64::from(files) > rows {
            hosts = 1;
            files = (rows - total) as i32;
        }
        total += hosts * i64::from(files);
        let u = (rng.below(1_000_000) as f64) / 1e6;
        plans.push(Plan {
            id: rng.uuid(),
            biz,
            dir: rng.weighted(&DIRS),
            suffix: rng.weighted(&SUFFIXES),
            operator: OPERATORS[(u * u * OPERATORS.len() as f64) as usize],
            first_host,
            hosts,
            files,
            created: now() - Duration::days(DAYS)
                + Duration::seconds(rng.below((DAYS * 86_400) as u64) as i64),
            job_instance_id: 0,
        });
    }
    plans.sort_by_key(|p| p.created);
    for (i, p) in plans.iter_mut().enumerate() {
        p.job_instance_id = 1_000_000 + i as i64;
    }
    plans
}

/// Inserts the `backups` rows of `plans`, already SUCCEEDED so no worker picks them up.
pub async fn insert_backups(pool: &PgPool, plans: &[Plan]) -> sqlx::Result<()> {
    for chunk in plans.chunks(1000) {
        sqlx::query(
            "insert into backups (id, bk_biz_id, bk_file_dir, bk_file_suffix, bk_host_ids, \
               operator, state, job_timeout_secs, backup_name, job_name, job_instance_id, \
               deadline_at, created_at, started_at, finished_at, updated_at) \
             select p.id, p.biz, p.dir, p.suffix, \
               array(select generate_series(p.first_host, p.first_host + p.hosts - 1)), \
               p.operator, 'succeeded', 600, p.name, 'bklb-backup-' || p.id, p.jid, \
               p.created + interval '1 hour', p.created, p.created, p.finished, p.finished \
             from unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::int8[], \
               $6::int8[], $7::text[], $8::text[], $9::int8[], $10::timestamptz[], \
               $11::timestamptz[]) \
               as p(id, biz, dir, suffix, first_host, hosts, operator, name, jid, created, \
               finished)",
        )
        .bind(chunk.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.biz).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.dir).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.suffix).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.first_host).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.hosts).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.operator).collect::<Vec<_>>())
        .bind(chunk.iter().map(Plan::name).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.job_instance_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.created).collect::<Vec<_>>())
        .bind(chunk.iter().map(Plan::finished).collect::<Vec<_>>())
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Path relative to the searched directory, e.g. `node-10023/2026-10-03/error_7.log`.
fn relative(plan: &Plan, host: i64, n: i32) -> String {
    let day = plan.finished() - Duration::days(i64::from(n % 7));
    let stem = NAMES[((i64::from(n) * 7 + host) % 20) as usize];
    format!(
        "node-{host}/{}/{stem}_{n}.{}",
        day.format("%Y-%m-%d"),
        plan.suffix
    )
}

/// The records a worker would write for `plan`, built in memory.
pub fn records(plan: &Plan) -> Vec<NewRecord> {
    let name = plan.name();
    let link = format!(
        "https://bk.example.com/job/api_execute/{}",
        plan.job_instance_id
    );
    let mut rows = Vec::with_capacity((plan.hosts * i64::from(plan.files)) as usize);
    for host in plan.first_host..plan.first_host + plan.hosts {
        for n in 1..=plan.files {
            let rel = relative(plan, host, n);
            rows.push(NewRecord {
                backup_id: plan.id,
                bk_biz_id: plan.biz,
                bk_host_id: host,
                bk_cloud_id: 0,
                host_ip: format!("10.{}.{}.{}", plan.biz, host / 256 % 256, host % 256).into(),
                bk_file_dir: plan.dir.into(),
                bk_file_suffix: plan.suffix.into(),
                source_path_bytes: format!("{}/{rel}", plan.dir).into_bytes(),
                bk_backup_name: name.as_str().into(),
                backup_path_bytes: format!("{}/backup/{name}/{rel}", plan.dir).into_bytes(),
                size_bytes: (host * 7919 + i64::from(n) * 104_729) % 50_000_000,
                sha256: format!("{:016x}{:048x}", host, i64::from(n) * 2_654_435_761),
                source_mtime: Some(plan.finished() - Duration::days(i64::from(n % 7))),
                bk_file_create_time: plan.finished(),
                bk_file_operator: plan.operator.into(),
                job_instance_id: plan.job_instance_id,
                bk_job_link: link.as_str().into(),
            });
        }
    }
    rows
}

/// Generates the records of `plans` server-side, with the same shapes as [`records`].
pub async fn generate_records(pool: &PgPool, plans: &[Plan]) -> sqlx::Result<()> {
    sqlx::query(
        "insert into backup_records (backup_id, bk_biz_id, bk_host_id, bk_cloud_id, host_ip, \
           bk_file_dir, bk_file_suffix, source_path, source_path_bytes, bk_backup_name, \
           backup_path, backup_path_bytes, size_bytes, sha256, source_mtime, \
           bk_file_create_time, bk_file_operator, job_instance_id, bk_job_link) \
         select b.id, b.bk_biz_id, h.host, 0, \
           '10.' || b.bk_biz_id || '.' || (h.host / 256 % 256) || '.' || (h.host % 256), \
           b.bk_file_dir, b.bk_file_suffix, b.bk_file_dir || '/' || r.rel, \
           convert_to(b.bk_file_dir || '/' || r.rel, 'UTF8'), b.backup_name, \
           b.bk_file_dir || '/backup/' || b.backup_name || '/' || r.rel, \
           convert_to(b.bk_file_dir || '/backup/' || b.backup_name || '/' || r.rel, 'UTF8'), \
           (h.host * 7919 + f.n * 104729) % 50000000, \
           encode(sha256(convert_to(b.id::text || '/' || h.host || '/' || f.n, 'UTF8')), 'hex'), \
           b.finished_at - (f.n % 7) * interval '1 day', b.finished_at, b.operator, \
           b.job_instance_id, 'https://bk.example.com/job/api_execute/' || b.job_instance_id \
         from unnest($1::uuid[], $2::int4[]) as p(id, files) \
         join backups b on b.id = p.id \
         cross join lateral unnest(b.bk_host_ids) as h(host) \
         cross join lateral generate_series(1, p.files) as f(n) \
         cross join lateral (select 'node-' || h.host || '/' || \
           to_char(b.finished_at - (f.n % 7) * interval '1 day', 'YYYY-MM-DD') || '/' || \
           ($3::text[])[1 + (f.n * 7 + h.host) % 20] || '_' || f.n || '.' || \
           b.bk_file_suffix as rel) r \
         order by b.finished_at, h.host, f.n",
    )
    .bind(plans.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(plans.iter().map(|p| p.files).collect::<Vec<_>>())
    .bind(NAMES.to_vec())
    .execute(pool)
    .await?;
    Ok(())
}
