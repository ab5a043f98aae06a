//! `schedule create|list|get|update|pause|resume|trigger|preview|runs|delete` over
//! ScheduleService. Pause, resume and delete send no etag: they act on the schedule as it is.

use proto::backup::v1 as pb;

use super::schedule_cli::{ScheduleCommand, ScheduleFields};
use super::schedule_view::{row, runs_view, show};
use super::{Ctx, collect, parse_duration};
use crate::error::CliError;
use crate::output::{Table, View, json_of};
use crate::select::selector;

/// Runs one schedule command.
pub async fn run(ctx: &Ctx, cmd: ScheduleCommand) -> Result<(), CliError> {
    let mut c = ctx.clients.schedules();
    let one = |s: Option<pb::Schedule>| show(&ctx.out, &s.unwrap_or_default());
    let view = match cmd {
        ScheduleCommand::Create(f) => {
            let biz = ctx.biz(f.biz).await?;
            let (schedule, _) = fields(ctx, biz, &f, true).await?;
            let req = pb::CreateScheduleRequest {
                schedule: Some(schedule),
            };
            one(c.create_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Get { id } => {
            let req = pb::GetScheduleRequest { schedule_id: id };
            one(c.get_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Update { id, fields: f } => {
            let current = c
                .get_schedule(pb::GetScheduleRequest {
                    schedule_id: id.clone(),
                })
                .await?
                .into_inner()
                .schedule
                .unwrap_or_default();
            let (mut schedule, paths) = fields(ctx, current.bk_biz_id, &f, false).await?;
            if paths.is_empty() {
                return Err(CliError::Usage(
                    "update: give at least one field to change".into(),
                ));
            }
            schedule.schedule_id = id;
            schedule.etag = current.etag;
            let req = pb::UpdateScheduleRequest {
                schedule: Some(schedule),
                update_mask: Some(prost_types::FieldMask { paths }),
            };
            one(c.update_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Pause { id, note } => {
            let req = pb::PauseScheduleRequest {
                schedule_id: id,
                note,
                etag: String::new(),
            };
            one(c.pause_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Resume { id } => {
            let req = pb::ResumeScheduleRequest {
                schedule_id: id,
                etag: String::new(),
            };
            one(c.resume_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Delete { id } => {
            let req = pb::DeleteScheduleRequest {
                schedule_id: id,
                etag: String::new(),
            };
            one(c.delete_schedule(req).await?.into_inner().schedule)
        }
        ScheduleCommand::Trigger { id } => {
            let req = pb::TriggerScheduleRequest { schedule_id: id };
            let resp = c.trigger_schedule(req).await?.into_inner();
            let runs: Vec<pb::ScheduleRun> = resp.run.clone().into_iter().collect();
            let mut v = runs_view(&ctx.out, &runs);
            v.doc = json_of(&resp);
            v
        }
        ScheduleCommand::Preview { cron, tz, count } => {
            let req = pb::PreviewScheduleRequest {
                spec: Some(pb::ScheduleSpec {
                    cron,
                    time_zone: tz,
                    ..Default::default()
                }),
                count,
                after: None,
            };
            let resp = c.preview_schedule(req).await?.into_inner();
            let mut table = Table::new(vec!["FIRE", "LOCAL TIME"]);
            for f in &resp.fires {
                table.push(vec![
                    ctx.out.time(f.fire_time.as_ref()).into(),
                    f.local_time.clone().into(),
                ]);
            }
            View {
                table,
                doc: json_of(&resp),
                items: resp.fires.iter().map(json_of).collect(),
                ..View::default()
            }
        }
        ScheduleCommand::List {
            biz,
            state,
            name,
            paging,
        } => {
            let states = state
                .iter()
                .map(|s| parse_enum::<pb::ScheduleState>("--state", "SCHEDULE_STATE_", s))
                .collect::<Result<Vec<_>, _>>()?;
            let filter = pb::ListSchedulesRequest {
                bk_biz_id: biz.or(ctx.settings.biz).unwrap_or(0),
                states: states.into_iter().map(|s| s as i32).collect(),
                name_contains: name.unwrap_or_default(),
                ..Default::default()
            };
            let rows = collect(paging, |page_size, page_token| {
                let req = pb::ListSchedulesRequest {
                    page_size,
                    page_token,
                    ..filter.clone()
                };
                let mut c = ctx.clients.schedules();
                async move {
                    let r = c.list_schedules(req).await?.into_inner();
                    Ok((r.schedules, r.next_page_token))
                }
            })
            .await?;
            let mut table = Table::new(vec!["ID", "NAME", "STATE", "CRON", "DIR", "NEXT FIRE"]);
            for s in &rows {
                table.push(row(&ctx.out, s));
            }
            let doc = pb::ListSchedulesResponse {
                schedules: rows.clone(),
                next_page_token: String::new(),
            };
            View {
                table,
                doc: json_of(&doc),
                items: rows.iter().map(json_of).collect(),
                ..View::default()
            }
        }
        ScheduleCommand::Runs { id, paging } => {
            let rows = collect(paging, |page_size, page_token| {
                let req = pb::ListScheduleRunsRequest {
                    schedule_id: id.clone(),
                    page_size,
                    page_token,
                };
                let mut c = ctx.clients.schedules();
                async move {
                    let r = c.list_schedule_runs(req).await?.into_inner();
                    Ok((r.runs, r.next_page_token))
                }
            })
            .await?;
            let mut v = runs_view(&ctx.out, &rows);
            v.doc = json_of(&pb::ListScheduleRunsResponse {
                runs: rows,
                next_page_token: String::new(),
            });
            v
        }
    };
    ctx.out.print(&view)?;
    Ok(())
}

fn parse_enum<E>(flag: &str, prefix: &str, text: &str) -> Result<E, CliError>
where
    E: TryFrom<i32> + Copy,
    E: EnumName,
{
    let name = format!(
        "{prefix}{}",
        text.trim().to_ascii_uppercase().replace('-', "_")
    );
    E::from_name(&name).ok_or_else(|| CliError::Usage(format!("{flag}: `{text}` is not known")))
}

/// Enums parsed from their words.
trait EnumName: Sized {
    fn from_name(name: &str) -> Option<Self>;
}

impl EnumName for pb::ScheduleState {
    fn from_name(name: &str) -> Option<Self> {
        Self::from_str_name(name).filter(|s| *s != Self::Unspecified)
    }
}

impl EnumName for pb::OverlapPolicy {
    fn from_name(name: &str) -> Option<Self> {
        Self::from_str_name(name).filter(|s| *s != Self::Unspecified)
    }
}

/// The schedule the options describe, and the mask paths of the options given.
async fn fields(
    ctx: &Ctx,
    biz: i64,
    f: &ScheduleFields,
    create: bool,
) -> Result<(pb::Schedule, Vec<String>), CliError> {
    let mut paths = Vec::new();
    let mut s = pb::Schedule {
        bk_biz_id: biz,
        ..Default::default()
    };
    let mut set = |given: bool, path: &str| {
        if given {
            paths.push(path.to_owned());
        }
        given
    };
    if set(f.name.is_some(), "name") {
        s.name = f.name.clone().unwrap_or_default();
    }
    let h = &f.hosts;
    let chosen = !h.hosts.is_empty() || !h.set.is_empty() || !h.module.is_empty() || h.all_hosts;
    if set(chosen || create, "selector") {
        s.selector = Some(selector(&ctx.clients, biz, h).await?);
    }
    if set(f.dir.is_some(), "bk_file_dir") {
        s.bk_file_dir = f.dir.clone().unwrap_or_default();
    }
    if set(f.suffix.is_some(), "bk_file_suffix") {
        s.bk_file_suffix = f.suffix.clone().unwrap_or_default();
    }
    let mut spec = pb::ScheduleSpec::default();
    if set(f.cron.is_some(), "spec.cron") {
        spec.cron = f.cron.clone().unwrap_or_default();
    }
    if set(f.tz.is_some(), "spec.time_zone") {
        spec.time_zone = f.tz.clone().unwrap_or_default();
    }
    s.spec = Some(spec);
    if let Some(o) = &f.overlap {
        set(true, "overlap_policy");
        s.overlap_policy =
            parse_enum::<pb::OverlapPolicy>("--overlap", "OVERLAP_POLICY_", o)? as i32;
    }
    let mut retention = pb::Retention::default();
    if set(f.keep_last.is_some(), "retention.keep_last") {
        retention.keep_last = f.keep_last.unwrap_or(0);
    }
    if let Some(w) = &f.keep_within {
        set(true, "retention.keep_within");
        retention.keep_within = Some(parse_duration("--keep-within", w)?);
    }
    if f.keep_last.is_some() || f.keep_within.is_some() {
        s.retention = Some(retention);
    }
    if let Some(t) = &f.run_timeout {
        set(true, "run_timeout");
        s.run_timeout = Some(parse_duration("--run-timeout", t)?);
    }
    if set(f.pause_after_failures.is_some(), "pause_after_failures") {
        s.pause_after_failures = f.pause_after_failures.unwrap_or(0);
    }
    Ok((s, paths))
}
