-- Audit trail (issue 12): one row per mutating call (start, cancel, retry; schedule create,
-- change, pause, resume, delete, trigger), whatever its result, written after the call decided.

create table audit_events (
    id          bigserial primary key,
    at          timestamptz not null,
    -- The name of the service token presented (never the token), or '' for a person's login.
    token_name  text not null,
    -- The BlueKing user the call acted as; '' when it could not be told.
    bk_username text not null,
    -- The business acted on; null when the call was refused before one was known.
    bk_biz_id   bigint,
    -- The RPC, e.g. 'StartBackup', 'PauseSchedule'.
    action      text not null,
    -- What it acted on: a backup or schedule id; '' when nothing was created or found.
    target      text not null default '',
    -- The gRPC result code, e.g. 'OK', 'INVALID_ARGUMENT', 'PERMISSION_DENIED'.
    code        text not null,
    -- The error message, or a short summary of what was done.
    message     text not null default ''
);

-- ListAuditEvents reads one business newest first.
create index audit_events_biz_idx on audit_events (bk_biz_id, at desc, id desc);
