-- Who asked for a backup's cancel (the caller's BlueKing username), so the backup's final
-- message can say who cancelled it. Null for backups never cancelled, and for those cancelled
-- before this column existed.
alter table backups add column cancel_requested_by text;
