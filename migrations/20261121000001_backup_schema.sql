-- The backup-service schema: backups (the unit of work and its queue), per-host results,
-- backup records (one row per file really copied) and the event log that WatchBackup streams.
-- States are text with CHECK constraints rather than Postgres enums so later migrations can
-- add values inside a transaction.

create extension if not exists pg_trgm;

create table backups (
    id                  uuid primary key,
    -- Client idempotency key: StartBackup with the same key returns the same backup.
    request_id          text,
    bk_biz_id           bigint not null,
    bk_file_dir         text not null,
    bk_file_suffix      text not null,
    -- Hosts asked for, in request order.
    bk_host_ids         bigint[] not null,
    operator            text not null,
    state               text not null default 'queued'
        check (state in ('queued', 'running', 'cancelling', 'succeeded', 'partial', 'failed', 'cancelled')),
    -- Where a running backup is: checking_agents, launching, running_job, collecting_results, recording.
    phase               text,
    -- Why a backup ended FAILED (all_hosts_failed, permission_denied, deadline_exceeded, ...).
    failure_reason      text,
    status_message      text not null default '',
    -- Requested JOB timeout for the backup step.
    job_timeout_secs    integer not null,
    -- RetryBackup links the new backup to the one whose failed hosts it retries.
    retry_of            uuid references backups (id),
    -- Directory name under <dir>/backup/, e.g. backup_20240514_120300_1f3c9a2b.
    backup_name         text not null,
    -- JOB task name; carries the backup id so a crashed worker can find the instance it launched.
    job_name            text not null,
    job_instance_id     bigint,
    step_instance_id    bigint,
    job_url             text,
    job_launched_at     timestamptz,
    -- Claiming: a worker holds a lease it renews; `attempt` grows on every claim and fences a
    -- stale worker out of every later write.
    attempt             integer not null default 0,
    lease_owner         text,
    lease_expires_at    timestamptz,
    cancel_requested_at timestamptz,
    -- Hard bound on total time: past it the backup ends FAILED with the reason.
    deadline_at         timestamptz not null,
    -- Highest event sequence number written for this backup.
    last_seq            bigint not null default 0,
    created_at          timestamptz not null default now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz not null default now()
);

create unique index backups_request_id_key on backups (request_id) where request_id is not null;
-- Workers look for claimable work: queued, or running with an expired lease.
create index backups_claimable_idx on backups (created_at) where state in ('queued', 'running', 'cancelling');
create index backups_biz_created_idx on backups (bk_biz_id, created_at desc, id desc);
create index backups_operator_created_idx on backups (operator, created_at desc, id desc);
create index backups_created_idx on backups (created_at desc, id desc);
create index backups_host_ids_idx on backups using gin (bk_host_ids);
create index backups_retry_of_idx on backups (retry_of) where retry_of is not null;

create table backup_hosts (
    backup_id       uuid not null references backups (id) on delete cascade,
    bk_host_id      bigint not null,
    bk_cloud_id     bigint not null default 0,
    host_ip         text not null default '',
    status          text not null default 'pending'
        check (status in ('pending', 'skipped', 'running', 'succeeded', 'partial', 'failed', 'cancelled')),
    -- Why a host did not fully succeed: agent_offline, permission_denied, directory_missing,
    -- disk_full, timeout, script_error, cancelled, ...
    reason          text,
    log_excerpt     text not null default '',
    exit_code       integer,
    job_host_status_code integer,
    -- Files that were found but not copied: [{path_b64, status, error}], for the FULL view.
    failed_files    jsonb not null default '[]',
    files_found     integer not null default 0,
    files_copied    integer not null default 0,
    files_failed    integer not null default 0,
    bytes_copied    bigint not null default 0,
    updated_at      timestamptz not null default now(),
    primary key (backup_id, bk_host_id)
);

create table backup_records (
    id                  bigserial primary key,
    backup_id           uuid not null references backups (id),
    bk_biz_id           bigint not null,
    bk_host_id          bigint not null,
    bk_cloud_id         bigint not null default 0,
    host_ip             text not null,
    bk_file_dir         text not null,
    bk_file_suffix      text not null,
    -- The path as text (bytes that are not UTF-8 escaped) and as the exact bytes.
    source_path         text not null,
    source_path_bytes   bytea not null,
    -- The backup directory name, e.g. backup_20240514_120300_1f3c9a2b (the course's field).
    bk_backup_name      text not null,
    -- Full path of the copy: <dir>/backup/<backup_name>/<path relative to dir>.
    backup_path         text not null,
    backup_path_bytes   bytea not null,
    size_bytes          bigint not null,
    sha256              text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    source_mtime        timestamptz,
    bk_file_create_time timestamptz not null,
    bk_file_operator    text not null,
    job_instance_id     bigint not null,
    bk_job_link         text not null,
    -- One record per copied file of a backup, however often a writer retries.
    unique (backup_id, bk_host_id, source_path_bytes)
);

-- ListBackupRecords: newest first with keyset paging on (bk_file_create_time, id); each filter
-- leads its own index so it never scans the table.
create index backup_records_created_idx on backup_records (bk_file_create_time desc, id desc);
create index backup_records_biz_idx on backup_records (bk_biz_id, bk_file_create_time desc, id desc);
create index backup_records_host_idx on backup_records (bk_host_id, bk_file_create_time desc, id desc);
create index backup_records_operator_idx on backup_records (bk_file_operator, bk_file_create_time desc, id desc);
create index backup_records_dir_idx on backup_records (bk_file_dir, bk_file_create_time desc, id desc);
create index backup_records_suffix_idx on backup_records (bk_file_suffix, bk_file_create_time desc, id desc);
create index backup_records_backup_idx on backup_records (backup_id, bk_file_create_time desc, id desc);
create index backup_records_path_trgm_idx on backup_records using gin (source_path gin_trgm_ops);

create table backup_events (
    backup_id   uuid not null references backups (id) on delete cascade,
    seq         bigint not null,
    kind        text not null,
    payload     jsonb not null,
    created_at  timestamptz not null default now(),
    primary key (backup_id, seq)
);
