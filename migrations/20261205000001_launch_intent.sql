-- The decision to launch a backup's JOB instance, recorded (and committed) by the claim that
-- makes it before it sends anything: a worker that re-claims a backup whose earlier attempt
-- recorded one looks for that job before it launches again.
alter table backups
    add column launch_intent_attempt integer,
    add column launch_intent_at timestamptz;
