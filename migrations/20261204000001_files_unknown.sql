-- Files a host matched whose outcome is unknown: the backup script or the reading of its
-- manifest was cut short. found = copied + failed + unknown for every host.
alter table backup_hosts add column files_unknown integer not null default 0;
