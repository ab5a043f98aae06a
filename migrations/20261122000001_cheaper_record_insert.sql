-- Two per-row costs of the worker's record insert that bought nothing, measured on a 100k-row
-- insert into a 1M-row table (docs/benchmarks.md):
--
-- 1. The sha256 check was a regex with a bounded repetition (`^[0-9a-f]{64}$`), which Postgres
--    runs as an NFA per row: about 0.4 s, as much as two indexes. Round-tripping through
--    decode/encode accepts exactly the same strings (64 lowercase hex digits) for a fraction of
--    that. `decode` raises an error on a non-hex digit rather than a check violation; either
--    way the row is refused.
-- 2. The foreign key to backups ran one RI lookup per row, another 0.35-0.45 s. Records are
--    written only by the transaction that finishes their backup, which holds that backup's row
--    lock (`store::work::begin`), and backups are never deleted, so no record can point to a
--    missing backup. The same transaction still fails if the backup is gone: it selects the row
--    first and writes nothing when it is not there.
alter table backup_records drop constraint backup_records_sha256_check;
alter table backup_records add constraint backup_records_sha256_check
    check (length(sha256) = 64 and encode(decode(sha256, 'hex'), 'hex') = sha256);
alter table backup_records drop constraint backup_records_backup_id_fkey;
