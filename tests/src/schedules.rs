//! Helpers of the ScheduleService tests (`tests/schedule_*.rs`): a schedule to create, the
//! calls in one line each, times in and out of protobuf, and fires recorded through the store
//! as the scheduler records them.

use backup_service::domain::RunTrigger;
use backup_service::schedule::{Spec, SpecInput};
use backup_service::store::backups::NewBackup;
use backup_service::store::schedule_fires::{Decision, Fire, Recorded, RunRow, record_fire};
use chrono::{DateTime, TimeDelta, Utc};
use prost_types::{FieldMask, Timestamp};
use proto::backup::v1 as pb;
use proto::backup::v1::schedule_service_client::ScheduleServiceClient;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::stack::{Door, Stack};
use crate::{Authed, schedule_client};
/// A schedule-service client.
pub type Schedules = ScheduleServiceClient<InterceptedService<Channel, Authed>>;

/// Once a year (1 January, 00:00 Shanghai): never due while a test runs.
pub const YEARLY: &str = "0 0 1 1 *";

/// Business 3's gamesvr module (hosts 1001, 1002), `/data/logs/*.log`, yearly, keep 14.
pub fn nightly(name: &str) -> pb::Schedule {
    pb::Schedule {
        name: name.into(),
        bk_biz_id: 3,
        selector: Some(pb::HostSelector {
            bk_module_ids: vec![3001],
            ..Default::default()
        }),
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        spec: Some(pb::ScheduleSpec {
            cron: YEARLY.into(),
            time_zone: "Asia/Shanghai".into(),
            ..Default::default()
        }),
        retention: Some(pb::Retention {
            keep_last: 14,
            keep_within: None,
        }),
        ..Default::default()
    }
}

/// The stack, a schedule client acting as alice, and a pool on the stack's database.
pub async fn up(db: &PgConnectOptions) -> (Stack, Schedules, PgPool) {
    let stack = Stack::start(db, Door::Esb).await;
    let client = schedule_client(&stack.backup, Some("alice")).await;
    let pool = stack.pool().await;
    (stack, client, pool)
}

/// Creates `s`; panics when refused.
pub async fn create(c: &mut Schedules, s: pb::Schedule) -> pb::Schedule {
    c.create_schedule(pb::CreateScheduleRequest { schedule: Some(s) })
        .await
        .expect("created")
        .into_inner()
        .schedule
        .unwrap()
}

/// Reads schedule `id`.
pub async fn get(c: &mut Schedules, id: &str) -> pb::Schedule {
    c.get_schedule(pb::GetScheduleRequest {
        schedule_id: id.into(),
    })
    .await
    .expect("read")
    .into_inner()
    .schedule
    .unwrap()
}

/// The names of one page of ListSchedules, and its next page token.
pub async fn list(c: &mut Schedules, req: pb::ListSchedulesRequest) -> (Vec<String>, String) {
    let page = c.list_schedules(req).await.expect("listed").into_inner();
    let names = page.schedules.into_iter().map(|s| s.name).collect();
    (names, page.next_page_token)
}

/// An instant from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A request `Timestamp` of `t`.
pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

/// The instant of a response `Timestamp`.
pub fn time_of(t: &Option<Timestamp>) -> DateTime<Utc> {
    let t = t.expect("a time");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).unwrap()
}

/// The first fire of `cron` in `zone` after `t`.
pub fn first_after(cron: &str, zone: &str, t: DateTime<Utc>) -> DateTime<Utc> {
    let spec = Spec::new(SpecInput {
        cron: cron.into(),
        time_zone: zone.into(),
        start_time: None,
        end_time: None,
        jitter: TimeDelta::zero(),
    })
    .unwrap();
    spec.next_after(t).unwrap()
}

/// A FieldMask of `paths`.
pub fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

/// Records a manual run of `s` at `scheduled_at` deciding `decision`, as the scheduler would.
pub async fn record(
    pool: &PgPool,
    s: &pb::Schedule,
    scheduled_at: DateTime<Utc>,
    decision: Decision,
) -> RunRow {
    let fire = Fire {
        schedule_id: s.schedule_id.parse().unwrap(),
        version: s.etag.parse().unwrap(),
        scheduled_at,
        trigger: RunTrigger::Manual,
        decision,
        resolved_host_ids: vec![1002, 1001],
        next: None,
        now: Utc::now(),
        triggered_by: "alice".into(),
        missed: Vec::new(),
        seen: None,
    };
    match record_fire(pool, &fire).await.unwrap() {
        Recorded::New(run) => run,
        other => panic!("not recorded: {other:?}"),
    }
}

/// A fire starting a backup of hosts 1001 and 1002's `/data/logs/*.log`.
pub fn fired() -> Decision {
    let id = sqlx::types::Uuid::new_v4();
    Decision::Fire(Box::new(NewBackup {
        id,
        request_id: None,
        bk_biz_id: 3,
        bk_host_ids: vec![1001, 1002],
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: "log".into(),
        operator: "alice".into(),
        job_timeout_secs: 300,
        backup_name: format!("backup_20261205_040000_{}", &id.simple().to_string()[..8]),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: Utc::now() + TimeDelta::seconds(900),
        retry_of: None,
        host_selector: None,
    }))
}
