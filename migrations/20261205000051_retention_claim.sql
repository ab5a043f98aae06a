-- Retention (issue 11): a replica claims a run's prune with a lease, so two replicas never
-- prune the same run (or the same schedule) at once; a claim that outlives its lease is taken
-- over, and a run whose prune was claimed this many times without finishing is given up
-- (FAILED): the next run's prune covers the same directories.
alter table schedule_runs
    add column retention_claimed_until timestamptz,
    add column retention_attempts integer not null default 0;
