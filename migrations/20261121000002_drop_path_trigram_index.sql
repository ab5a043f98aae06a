-- ListBackupRecords' path filter now walks the filter's ordered index for a bounded window of
-- rows per call (store::records::PATH_SCAN_ROWS) instead of asking a trigram index for every
-- match and sorting them, which cost unbounded time for common needles. The trigram GIN was
-- also the most expensive index to maintain in the worker's record transaction (measured in
-- docs/benchmarks.md), so it goes.
drop index if exists backup_records_path_trgm_idx;
