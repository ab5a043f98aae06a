//! `records list`: backup records (one per file copied), every filter of ListBackupRecords;
//! `--all` follows page tokens, `--limit` stops early; `-o csv` has every column.

use proto::backup::v1 as pb;

use super::{Ctx, collect, time_opt};
use crate::cli::{Format, RecordsArgs};
use crate::error::CliError;
use crate::output::{Cell, Out, Table, View, bytes, json_of};

/// `backupctl records list`.
pub async fn list(ctx: &Ctx, a: RecordsArgs) -> Result<(), CliError> {
    let filter = pb::ListBackupRecordsRequest {
        bk_biz_id: a.biz.or(ctx.settings.biz).unwrap_or(0),
        bk_host_ids: a.host.clone(),
        bk_file_dir: a.dir.clone().unwrap_or_default(),
        bk_file_suffix: a.suffix.clone().unwrap_or_default(),
        bk_file_operator: a.operator.clone().unwrap_or_default(),
        create_time_start: time_opt("--since", &a.since, ctx.out.utc)?,
        create_time_end: time_opt("--until", &a.until, ctx.out.utc)?,
        backup_id: a.backup.clone().unwrap_or_default(),
        path_contains: a.path_contains.clone().unwrap_or_default(),
        ..Default::default()
    };
    let rows = collect(a.paging, |page_size, page_token| {
        let req = pb::ListBackupRecordsRequest {
            page_size,
            page_token,
            ..filter.clone()
        };
        let mut c = ctx.clients.backup();
        async move {
            let r = c.list_backup_records(req).await?.into_inner();
            Ok((r.records, r.next_page_token))
        }
    })
    .await?;
    let table = if ctx.out.format == Format::Csv {
        csv_table(&ctx.out, &rows)
    } else {
        table(&ctx.out, &rows)
    };
    let doc = pb::ListBackupRecordsResponse {
        records: rows.clone(),
        next_page_token: String::new(),
    };
    ctx.out.print(&View {
        head: vec![],
        table,
        notes: vec![format!("{} records", rows.len())],
        doc: json_of(&doc),
        items: rows.iter().map(json_of).collect(),
    })?;
    Ok(())
}

fn job(r: &pb::BackupRecord) -> Cell {
    if r.job_instance_id > 0 {
        Cell::link(format!("job {}", r.job_instance_id), &r.bk_job_link)
    } else {
        Cell::link("job", &r.bk_job_link)
    }
}

fn table(out: &Out, rows: &[pb::BackupRecord]) -> Table {
    let mut t = Table::new(vec![
        "ID", "HOST", "IP", "FILE", "SIZE", "CREATED", "OPERATOR", "BACKUP", "JOB",
    ]);
    for r in rows {
        t.push(vec![
            r.id.to_string().into(),
            r.bk_host_id.to_string().into(),
            r.host_ip.clone().into(),
            r.source_path.clone().into(),
            bytes(r.size_bytes).into(),
            out.time(r.bk_file_create_time.as_ref()).into(),
            r.bk_file_operator.clone().into(),
            r.bk_backup_name.clone().into(),
            job(r),
        ]);
    }
    t
}

fn csv_table(out: &Out, rows: &[pb::BackupRecord]) -> Table {
    let mut t = Table::new(vec![
        "id",
        "bk_biz_id",
        "bk_host_id",
        "bk_cloud_id",
        "host_ip",
        "source_path",
        "backup_path",
        "size_bytes",
        "sha256",
        "source_mtime",
        "bk_file_dir",
        "bk_file_suffix",
        "bk_backup_name",
        "bk_file_create_time",
        "bk_file_operator",
        "backup_id",
        "job_instance_id",
        "bk_job_link",
        "prune_time",
    ]);
    for r in rows {
        let time = |t: Option<&prost_types::Timestamp>| match t {
            Some(_) => out.time(t),
            None => String::new(),
        };
        let cells: Vec<String> = vec![
            r.id.to_string(),
            r.bk_biz_id.to_string(),
            r.bk_host_id.to_string(),
            r.bk_cloud_id.to_string(),
            r.host_ip.clone(),
            r.source_path.clone(),
            r.backup_path.clone(),
            r.size_bytes.to_string(),
            r.sha256.clone(),
            time(r.source_mtime.as_ref()),
            r.bk_file_dir.clone(),
            r.bk_file_suffix.clone(),
            r.bk_backup_name.clone(),
            time(r.bk_file_create_time.as_ref()),
            r.bk_file_operator.clone(),
            r.backup_id.clone(),
            r.job_instance_id.to_string(),
            r.bk_job_link.clone(),
            time(r.prune_time.as_ref()),
        ];
        t.push(cells.into_iter().map(Cell::from).collect());
    }
    t
}
