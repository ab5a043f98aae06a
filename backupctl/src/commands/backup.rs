//! `backup start|get|list|cancel|retry`. A started or retried backup is followed to its end
//! (`watch.rs`) with `--wait`, and by default on a terminal.

use proto::backup::v1 as pb;

use super::{Ctx, collect, parse_duration, time_opt};
use crate::cli::{ListBackupsArgs, StartArgs, Wait};
use crate::error::CliError;
use crate::output::{Cell, Color, Out, Table, View, bytes, enum_word, json_of};
use crate::select::selector;

/// Whether to follow: `--wait`, `--no-wait`, else on a terminal.
fn waits(out: &Out, w: Wait) -> bool {
    w.wait || (!w.no_wait && out.tty)
}

/// `backupctl backup start`.
pub async fn start(ctx: &Ctx, a: StartArgs) -> Result<(), CliError> {
    let biz = ctx.biz(a.biz).await?;
    let timeout = a
        .timeout
        .as_deref()
        .map(|t| parse_duration("--timeout", t))
        .transpose()?;
    let req = pb::StartBackupRequest {
        request_id: a
            .request_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        bk_biz_id: biz,
        bk_host_ids: vec![],
        bk_file_dir: a.dir.clone(),
        bk_file_suffix: a.suffix.clone(),
        timeout,
        selector: Some(selector(&ctx.clients, biz, &a.hosts).await?),
    };
    let resp = ctx.clients.backup().start_backup(req).await?.into_inner();
    let backup = resp.backup.clone().unwrap_or_default();
    if waits(&ctx.out, a.wait) {
        eprintln!(
            "backup {} queued on {} hosts",
            backup.backup_id,
            backup.bk_host_ids.len()
        );
        return super::watch::follow(ctx, &backup.backup_id).await;
    }
    let mut view = backup_view(&ctx.out, &backup, false);
    view.doc = json_of(&resp);
    view.notes.push(format!(
        "follow it: backupctl backup watch {}",
        backup.backup_id
    ));
    ctx.out.print(&view)?;
    Ok(())
}

/// `backupctl backup get`.
pub async fn get(ctx: &Ctx, id: &str, files: bool) -> Result<(), CliError> {
    let view = if files {
        pb::BackupView::Full
    } else {
        pb::BackupView::Hosts
    };
    let req = pb::GetBackupRequest {
        backup_id: id.to_owned(),
        view: view as i32,
    };
    let b = ctx.clients.backup().get_backup(req).await?.into_inner();
    let backup = b.backup.unwrap_or_default();
    ctx.out.print(&backup_view(&ctx.out, &backup, files))?;
    Ok(())
}

/// The colour of a backup or host state word.
pub fn state_color(state: &str) -> Option<Color> {
    match state {
        "succeeded" => Some(Color::Green),
        "partial" | "cancelling" | "cancelled" | "skipped" => Some(Color::Yellow),
        "failed" => Some(Color::Red),
        _ => None,
    }
}

/// The state of `b` for people.
pub fn state_word(b: &pb::Backup) -> String {
    enum_word(b.state().as_str_name(), "BACKUP_STATE_")
}

/// One backup: its fields above a table of its hosts (and their files with `files`).
pub fn backup_view(out: &Out, b: &pb::Backup, files: bool) -> View {
    let counts = b.counts.unwrap_or_default();
    let mut head = vec![
        format!("backup:   {}", b.backup_id),
        format!("state:    {}", state_line(b)),
        format!("business: {}", b.bk_biz_id),
        format!(
            "dir:      {} (suffix `{}`)",
            b.bk_file_dir, b.bk_file_suffix
        ),
        format!("operator: {}", b.operator),
        format!("created:  {}", out.time(b.create_time.as_ref())),
        format!("ended:    {}", out.time(b.end_time.as_ref())),
        format!(
            "files:    {} copied of {} found, {} failed, {}",
            counts.files_copied,
            counts.files_found,
            counts.files_failed,
            bytes(counts.bytes_copied)
        ),
    ];
    if !b.job_url.is_empty() {
        head.push(format!("job:      {}", b.job_url));
    }
    if !b.retry_of_backup_id.is_empty() {
        head.push(format!("retry of: {}", b.retry_of_backup_id));
    }
    head.push(String::new());
    let mut table = if files {
        Table::new(vec!["HOST", "FILE", "STATUS", "SIZE", "BACKUP PATH"])
    } else {
        Table::new(vec![
            "HOST", "IP", "STATUS", "FILES", "FAILED", "SIZE", "REASON",
        ])
    };
    for h in &b.host_results {
        if files {
            for f in &h.files {
                table.push(vec![
                    h.bk_host_id.to_string().into(),
                    f.source_path.clone().into(),
                    enum_word(f.status().as_str_name(), "FILE_BACKUP_STATUS_").into(),
                    bytes(f.size_bytes).into(),
                    f.backup_path.clone().into(),
                ]);
            }
        } else {
            table.push(host_row(h));
        }
    }
    View {
        head,
        table,
        notes: vec![],
        doc: json_of(b),
        items: vec![json_of(b)],
    }
}

fn state_line(b: &pb::Backup) -> String {
    let mut line = state_word(b);
    if b.failure_reason() != pb::BackupFailureReason::Unspecified {
        let reason = enum_word(b.failure_reason().as_str_name(), "BACKUP_FAILURE_REASON_");
        line.push_str(&format!(" ({reason})"));
    }
    if !b.status_message.is_empty() {
        line.push_str(&format!(": {}", b.status_message));
    }
    line
}

/// A host's row of a backup's table.
pub fn host_row(h: &pb::HostBackupResult) -> Vec<Cell> {
    let status = enum_word(h.status().as_str_name(), "HOST_BACKUP_STATUS_");
    let reason = if h.reason() == pb::HostFailureReason::Unspecified {
        String::new()
    } else {
        enum_word(h.reason().as_str_name(), "HOST_FAILURE_REASON_")
    };
    vec![
        h.bk_host_id.to_string().into(),
        h.ip.clone().into(),
        Cell::colored(status.clone(), state_color(&status)),
        h.files_copied.to_string().into(),
        h.files_failed.to_string().into(),
        bytes(h.bytes_copied).into(),
        reason.into(),
    ]
}

fn parse_state(text: &str) -> Result<pb::BackupState, CliError> {
    let name = format!("BACKUP_STATE_{}", text.trim().to_ascii_uppercase());
    pb::BackupState::from_str_name(&name)
        .filter(|s| *s != pb::BackupState::Unspecified)
        .ok_or_else(|| CliError::Usage(format!("--state: `{text}` is not a backup state")))
}

/// `backupctl backup list`.
pub async fn list(ctx: &Ctx, a: ListBackupsArgs) -> Result<(), CliError> {
    let states = a
        .state
        .iter()
        .map(|s| parse_state(s).map(|s| s as i32))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = pb::ListBackupsRequest {
        bk_biz_id: a.biz.or(ctx.settings.biz).unwrap_or(0),
        states,
        operator: a.operator.clone().unwrap_or_default(),
        create_time_start: time_opt("--since", &a.since, ctx.out.utc)?,
        create_time_end: time_opt("--until", &a.until, ctx.out.utc)?,
        bk_host_id: a.host.unwrap_or(0),
        view: pb::BackupView::Basic as i32,
        schedule_id: a.schedule.clone().unwrap_or_default(),
        ..Default::default()
    };
    let rows = collect(a.paging, |page_size, page_token| {
        let req = pb::ListBackupsRequest {
            page_size,
            page_token,
            ..filter.clone()
        };
        let mut c = ctx.clients.backup();
        async move {
            let r = c.list_backups(req).await?.into_inner();
            Ok((r.backups, r.next_page_token))
        }
    })
    .await?;
    let mut table = Table::new(vec![
        "ID", "STATE", "BIZ", "HOSTS", "FILES", "SIZE", "CREATED", "OPERATOR", "JOB",
    ]);
    for b in &rows {
        let counts = b.counts.unwrap_or_default();
        let state = state_word(b);
        let job = if b.job_instance_id > 0 {
            Cell::link(b.job_instance_id.to_string(), &b.job_url)
        } else {
            Cell::from("-")
        };
        table.push(vec![
            b.backup_id.clone().into(),
            Cell::colored(state.clone(), state_color(&state)),
            b.bk_biz_id.to_string().into(),
            b.bk_host_ids.len().to_string().into(),
            counts.files_copied.to_string().into(),
            bytes(counts.bytes_copied).into(),
            ctx.out.time(b.create_time.as_ref()).into(),
            b.operator.clone().into(),
            job,
        ]);
    }
    let doc = pb::ListBackupsResponse {
        backups: rows.clone(),
        next_page_token: String::new(),
    };
    ctx.out.print(&View {
        head: vec![],
        table,
        notes: vec![],
        doc: json_of(&doc),
        items: rows.iter().map(json_of).collect(),
    })?;
    Ok(())
}

/// `backupctl backup cancel`.
pub async fn cancel(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let req = pb::CancelBackupRequest {
        backup_id: id.to_owned(),
    };
    let resp = ctx.clients.backup().cancel_backup(req).await?.into_inner();
    let backup = resp.backup.clone().unwrap_or_default();
    let mut view = backup_view(&ctx.out, &backup, false);
    view.head.insert(
        0,
        format!(
            "cancel: {}",
            enum_word(resp.outcome().as_str_name(), "CANCEL_OUTCOME_")
        ),
    );
    view.doc = json_of(&resp);
    ctx.out.print(&view)?;
    Ok(())
}

/// `backupctl backup retry`.
pub async fn retry(ctx: &Ctx, id: &str, wait: Wait) -> Result<(), CliError> {
    let req = pb::RetryBackupRequest {
        backup_id: id.to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let resp = ctx.clients.backup().retry_backup(req).await?.into_inner();
    let backup = resp.backup.clone().unwrap_or_default();
    let hosts: Vec<String> = resp
        .retried_bk_host_ids
        .iter()
        .map(i64::to_string)
        .collect();
    if waits(&ctx.out, wait) {
        eprintln!(
            "retry {} of {id} queued on hosts {}",
            backup.backup_id,
            hosts.join(", ")
        );
        return super::watch::follow(ctx, &backup.backup_id).await;
    }
    let mut view = backup_view(&ctx.out, &backup, false);
    view.head
        .insert(0, format!("retrying hosts {} of {id}", hosts.join(", ")));
    view.doc = json_of(&resp);
    ctx.out.print(&view)?;
    Ok(())
}
