-- The host selector a backup was started with (StartBackup's `selector`), as JSON; null when
-- the backup named its hosts (`bk_host_ids`, RetryBackup). `bk_host_ids` holds the hosts the
-- selector resolved to. Kept so that a request id replay can tell the same selector from
-- another one without asking CMDB again.
alter table backups add column host_selector jsonb;
