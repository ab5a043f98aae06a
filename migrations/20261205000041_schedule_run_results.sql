-- Scheduled backups, the scheduler's part: every run that counts towards its schedule's failures
-- in a row (a fired run once its backup ends, a run that failed to start at once) is marked
-- `result_pending` when it is written, and the scheduler counts it and clears the mark in one
-- transaction (store::schedule_runs::count_result). A crash before the commit leaves the mark,
-- so the run is counted later; the cleared mark stops it being counted twice.

alter table schedule_runs add column result_pending boolean not null default false;

-- The scheduler reads only runs still to count from here: its cost per tick follows the runs
-- in flight, not the number of runs or schedules.
create index schedule_runs_result_pending_idx on schedule_runs (id) where result_pending;
