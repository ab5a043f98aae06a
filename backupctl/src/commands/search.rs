//! `search`: SearchFiles on the chosen hosts; per-host results, totals, and warnings for
//! truncated listings and unreadable entries.

use proto::backup::v1 as pb;

use super::Ctx;
use crate::cli::SearchArgs;
use crate::error::CliError;
use crate::output::{Cell, Color, Table, View, bytes, enum_word, json_of};
use crate::select::selector;

/// `backupctl search`.
pub async fn run(ctx: &Ctx, a: SearchArgs) -> Result<(), CliError> {
    let biz = ctx.biz(a.biz).await?;
    let req = pb::SearchFilesRequest {
        bk_biz_id: biz,
        bk_host_ids: vec![],
        bk_file_dir: a.dir.clone(),
        bk_file_suffix: a.suffix.clone(),
        include_previous_backups: a.include_previous,
        max_files_per_host: a.max_files,
        selector: Some(selector(&ctx.clients, biz, &a.hosts).await?),
    };
    let resp = ctx.clients.backup().search_files(req).await?.into_inner();
    let mut table = if a.files {
        Table::new(vec!["HOST", "IP", "PATH", "SIZE", "MODIFIED"])
    } else {
        Table::new(vec!["HOST", "IP", "STATUS", "FILES", "SIZE", "NOTE"])
    };
    let mut notes = Vec::new();
    for h in &resp.host_results {
        if a.files {
            for f in &h.files {
                table.push(vec![
                    h.bk_host_id.to_string().into(),
                    h.ip.clone().into(),
                    f.path.clone().into(),
                    bytes(f.size_bytes).into(),
                    ctx.out.time(f.mtime.as_ref()).into(),
                ]);
            }
        } else {
            table.push(host_row(h));
        }
        if h.truncated {
            notes.push(format!(
                "warning: host {} has more files than listed ({} found; --max-files lists more)",
                h.bk_host_id, h.file_count
            ));
        }
        if h.unreadable_count > 0 {
            notes.push(format!(
                "warning: host {}: {} entries could not be read",
                h.bk_host_id, h.unreadable_count
            ));
        }
    }
    notes.push(format!(
        "{} files, {} on {} hosts; JOB: {}",
        resp.total_file_count,
        bytes(resp.total_size_bytes),
        resp.host_results.len(),
        resp.job_url
    ));
    ctx.out.print(&View {
        head: vec![],
        table,
        notes,
        doc: json_of(&resp),
        items: resp.host_results.iter().map(json_of).collect(),
    })?;
    Ok(())
}

fn host_row(h: &pb::HostSearchResult) -> Vec<Cell> {
    let status = h.status();
    let color = match status {
        pb::HostSearchStatus::Found => Some(Color::Green),
        pb::HostSearchStatus::NoFiles => None,
        _ => Some(Color::Red),
    };
    let mut note = Vec::new();
    if h.reason() != pb::HostFailureReason::Unspecified {
        note.push(enum_word(h.reason().as_str_name(), "HOST_FAILURE_REASON_"));
    }
    if h.truncated {
        note.push("truncated".to_owned());
    }
    if h.unreadable_count > 0 {
        note.push(format!("{} unreadable", h.unreadable_count));
    }
    vec![
        h.bk_host_id.to_string().into(),
        h.ip.clone().into(),
        Cell::colored(
            enum_word(status.as_str_name(), "HOST_SEARCH_STATUS_"),
            color,
        ),
        h.file_count.to_string().into(),
        bytes(h.total_size_bytes).into(),
        note.join(", ").into(),
    ]
}
