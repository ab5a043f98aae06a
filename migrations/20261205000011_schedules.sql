-- Scheduled backups (issue 11): schedules are rows, and every fire is a row written with its
-- decision. The unique (schedule_id, scheduled_at) of schedule_runs is what makes a fire happen
-- once across replicas; see store::schedules and docs/schedules.md.

create table schedules (
    id                      uuid primary key,
    bk_biz_id               bigint not null,
    -- Unique per business among schedules not deleted (index below).
    name                    text not null,
    -- The creator: runs act as this BlueKing user.
    operator                text not null,
    -- Who last changed the schedule (the creator until someone else does).
    updated_by              text not null,
    -- Which hosts, resolved through CMDB at every fire; kept as given (host ids, cloud:ip,
    -- topology nodes, the whole business).
    selector                jsonb not null,
    bk_file_dir             text not null,
    bk_file_suffix          text not null,
    -- When: a cron spec read in an IANA zone (schedule::Spec validates both).
    cron                    text not null,
    time_zone               text not null,
    start_time              timestamptz,
    end_time                timestamptz,
    jitter_ms               bigint not null default 0 check (jitter_ms >= 0),
    overlap_policy          text not null default 'skip'
        check (overlap_policy in ('skip', 'buffer_one', 'allow_all', 'cancel_previous')),
    -- A fire missed while no replica ran is still made if at most this late; 0: never.
    catch_up_window_secs    bigint not null default 0 check (catch_up_window_secs >= 0),
    -- Pause after this many failed runs in a row; null: never.
    pause_after_failures    integer check (pause_after_failures > 0),
    consecutive_failures    integer not null default 0 check (consecutive_failures >= 0),
    -- Bound on each run's backup (StartBackup's timeout).
    run_timeout_secs        integer not null check (run_timeout_secs > 0),
    -- Retention: keep the newest N backups and/or those younger than a duration; null: no limit.
    keep_last               integer check (keep_last > 0),
    keep_within_secs        bigint check (keep_within_secs > 0),
    state                   text not null default 'active'
        check (state in ('active', 'paused', 'deleted')),
    -- Why it is paused (an operator's note, or the failure that paused it).
    pause_note              text not null default '',
    -- The etag: grows on every change a caller makes (not on fires).
    version                 bigint not null default 1,
    -- The nominal time of the next fire (the run's key) and when to make it (plus jitter);
    -- both null when the spec has no more fires.
    next_fire_at            timestamptz,
    next_due_at             timestamptz,
    -- A replica that claimed the due fire holds it until then while it resolves hosts.
    claimed_until           timestamptz,
    created_at              timestamptz not null,
    updated_at              timestamptz not null,
    deleted_at              timestamptz,
    check (end_time is null or start_time is null or end_time >= start_time)
);

create unique index schedules_biz_name_key on schedules (bk_biz_id, name) where state <> 'deleted';
-- The scheduler's tick reads only due, active schedules from here: its cost follows the
-- number due, not the number of schedules.
create index schedules_due_idx on schedules (next_due_at) where state = 'active';
create index schedules_created_idx on schedules (created_at desc, id desc);
create index schedules_biz_created_idx on schedules (bk_biz_id, created_at desc, id desc);

create table schedule_runs (
    id              bigserial primary key,
    schedule_id     uuid not null references schedules (id),
    -- The nominal fire time (without jitter); a manual trigger's time for `manual` runs.
    scheduled_at    timestamptz not null,
    trigger         text not null check (trigger in ('cron', 'manual')),
    decision        text not null
        check (decision in ('fired', 'skipped_overlap', 'missed', 'failed_to_start')),
    backup_id       uuid references backups (id),
    -- Why the run failed to start, or what else a reader should know.
    reason          text not null default '',
    -- The hosts the selector resolved to for this run.
    resolved_host_ids bigint[] not null default '{}',
    decided_at      timestamptz not null,
    -- Exactly once: a second replica's attempt to record the same fire inserts nothing.
    -- Its index also serves ListScheduleRuns, newest first (read backwards).
    unique (schedule_id, scheduled_at),
    check ((decision = 'fired') = (backup_id is not null))
);

-- Backups a schedule made, for ListBackups' filter and for retention.
alter table backups add column schedule_id uuid references schedules (id);
create index backups_schedule_created_idx on backups (schedule_id, created_at desc, id desc)
    where schedule_id is not null;
