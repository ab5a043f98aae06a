//! WatchBackup's fan-out against a real Postgres: many watchers of one backup, one reader.

use chrono::Utc;
use proto::backup::v1::watch_backup_response::Event as Message;
use sqlx::PgPool;

use super::*;
use crate::domain::{BackupState, HostState};
use crate::events::Event;
use crate::store::backups::{Created, NewBackup};

async fn new_backup(pool: &PgPool) -> Uuid {
    let id = Uuid::new_v4();
    let new = NewBackup {
        id,
        request_id: None,
        bk_biz_id: 3,
        bk_host_ids: vec![1001],
        bk_file_dir: "/data/logs".into(),
        bk_file_suffix: ".log".into(),
        operator: "alice".into(),
        job_timeout_secs: 600,
        backup_name: "backup_20261122_010000_abcd1234".into(),
        job_name: format!("bk-log-backup {id}"),
        deadline_at: Utc::now() + chrono::Duration::hours(1),
        retry_of: None,
        host_selector: None,
    };
    let Created::New(row) = backups::create(pool, &new).await.unwrap() else {
        panic!("new backup");
    };
    row.id
}

async fn append(pool: &PgPool, id: Uuid, event: &Event) {
    let mut tx = pool.begin().await.unwrap();
    events::append(&mut tx, id, event).await.unwrap();
    tx.commit().await.unwrap();
}

fn counter(registry: &prometheus::Registry, name: &str, label: Option<&str>) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().to_vec())
        .find(|m| label.is_none_or(|l| m.get_label().iter().any(|p| p.value() == l)))
        .map(|m| m.get_counter().get_value())
        .unwrap_or_default()
}

#[sqlx::test(migrations = "../migrations")]
async fn watchers_of_one_backup_share_one_reader_and_each_sees_every_event_once(pool: PgPool) {
    const WATCHERS: usize = 20;
    const EVENTS: i64 = 40;
    let registry = prometheus::Registry::new();
    let progress = Progress::start(pool.clone(), Duration::from_secs(60), 100, &registry).unwrap();
    let id = new_backup(&pool).await;
    let mut streams = vec![];
    for _ in 0..WATCHERS {
        streams.push(progress.watch(id, 0).await.unwrap());
    }
    for n in 0..EVENTS {
        let event = Event::HostProgress {
            bk_host_id: 1001,
            status: HostState::Running,
            job_host_status_code: Some(i32::try_from(n).unwrap()),
            files_done: None,
        };
        append(&pool, id, &event).await;
    }
    let done = Event::StateChanged {
        state: BackupState::Succeeded,
        phase: None,
        failure_reason: None,
        message: "done".into(),
        job_instance_id: None,
        job_url: None,
    };
    append(&pool, id, &done).await;

    // The snapshot is at seq 1 (the queued event); then 2..=EVENTS+2, each once, in order.
    for mut stream in streams {
        let mut seqs = vec![];
        while let Some(message) = stream.recv().await {
            let message = message.unwrap();
            if !matches!(message.event, Some(Message::Snapshot(_))) {
                seqs.push(message.seq);
            }
        }
        assert_eq!(seqs, (2..=EVENTS + 2).collect::<Vec<_>>());
    }
    // No watcher read the table itself: every event after the snapshots came from the one
    // shared reader, which read at most once per notification (plus its first read).
    let reads = "backup_watch_event_reads_total";
    assert_eq!(counter(&registry, reads, Some("catch_up")), 0.0);
    let shared = counter(&registry, reads, Some("shared"));
    assert!(
        (1.0..=(EVENTS + 2) as f64).contains(&shared),
        "{shared} shared reads"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_watcher_resuming_far_behind_catches_up_from_the_table_then_follows(pool: PgPool) {
    let registry = prometheus::Registry::new();
    let progress = Progress::start(pool.clone(), Duration::from_secs(60), 100, &registry).unwrap();
    let id = new_backup(&pool).await;
    // More events than one read returns and than a feed buffers.
    for n in 0..(BATCH + 300) {
        let event = Event::HostProgress {
            bk_host_id: 1001,
            status: HostState::Running,
            job_host_status_code: Some(i32::try_from(n).unwrap()),
            files_done: None,
        };
        append(&pool, id, &event).await;
    }
    let live = progress.watch(id, 0).await.unwrap();
    let mut resumed = progress.watch(id, 3).await.unwrap();
    drop(live);
    let done = Event::StateChanged {
        state: BackupState::Failed,
        phase: None,
        failure_reason: None,
        message: "over".into(),
        job_instance_id: None,
        job_url: None,
    };
    append(&pool, id, &done).await;
    let mut seqs = vec![];
    while let Some(message) = resumed.recv().await {
        seqs.push(message.unwrap().seq);
    }
    let last = BATCH + 300 + 2;
    assert_eq!(seqs, (4..=last).collect::<Vec<_>>());
}
