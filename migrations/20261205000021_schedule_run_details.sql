-- Scheduled backups, second part: buffered fires (overlap policy BUFFER_ONE), who triggered a
-- manual run, and retention's result per run; pruned backups keep their records, marked with
-- the time their directory was removed from the host.

alter table schedule_runs drop constraint schedule_runs_decision_check;
alter table schedule_runs add constraint schedule_runs_decision_check
    check (decision in ('fired', 'skipped_overlap', 'missed', 'failed_to_start', 'buffered'));

-- Who called TriggerSchedule for a manual run; empty for cron runs.
alter table schedule_runs add column triggered_by text not null default '';

-- Retention after the run: 'none' (nothing to do), 'pending' (set when a fired run's schedule
-- has retention; waits for the backup to end and the prune to finish), 'done' or 'failed'.
alter table schedule_runs
    add column retention_state text not null default 'none'
        check (retention_state in ('none', 'pending', 'done', 'failed')),
    add column retention_pruned integer not null default 0,
    add column retention_failed integer not null default 0,
    add column retention_message text not null default '',
    add column retention_finished_at timestamptz;

-- The scheduler reads only buffered fires and pending prunes from these.
create index schedule_runs_buffered_idx on schedule_runs (schedule_id) where decision = 'buffered';
create index schedule_runs_retention_pending_idx on schedule_runs (decided_at)
    where retention_state = 'pending';

-- When retention removed a backup's directory from a host; records are never deleted.
alter table backup_hosts add column pruned_at timestamptz;
alter table backup_records add column pruned_at timestamptz;
