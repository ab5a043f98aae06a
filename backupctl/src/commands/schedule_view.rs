//! How schedules and their runs are shown: one row a schedule, one row a run with its backup and
//! what retention did after it.

use proto::backup::v1 as pb;

use crate::output::{Cell, Color, Out, Table, View, enum_word, json_of};

fn state_cell(s: &pb::Schedule) -> Cell {
    let word = enum_word(s.state().as_str_name(), "SCHEDULE_STATE_");
    let color = match s.state() {
        pb::ScheduleState::Active => Some(Color::Green),
        pb::ScheduleState::Paused => Some(Color::Yellow),
        _ => Some(Color::Dim),
    };
    Cell::colored(word, color)
}

/// A schedule's row.
pub fn row(out: &Out, s: &pb::Schedule) -> Vec<Cell> {
    let spec = s.spec.clone().unwrap_or_default();
    vec![
        s.schedule_id.clone().into(),
        s.name.clone().into(),
        state_cell(s),
        format!("{} {}", spec.cron, spec.time_zone)
            .trim()
            .to_owned()
            .into(),
        s.bk_file_dir.clone().into(),
        out.time(s.next_fire_time.as_ref()).into(),
    ]
}

/// One schedule, and its pause note.
pub fn show(out: &Out, s: &pb::Schedule) -> View {
    let mut table = Table::new(vec!["ID", "NAME", "STATE", "CRON", "DIR", "NEXT FIRE"]);
    table.push(row(out, s));
    let mut notes = Vec::new();
    if !s.pause_note.is_empty() {
        notes.push(format!("paused: {}", s.pause_note));
    }
    View {
        head: vec![],
        table,
        notes,
        doc: json_of(s),
        items: vec![json_of(s)],
    }
}

/// Runs, newest first.
pub fn runs_view(out: &Out, runs: &[pb::ScheduleRun]) -> View {
    let mut table = Table::new(vec![
        "SCHEDULED",
        "TRIGGER",
        "DECISION",
        "BACKUP",
        "STATE",
        "RETENTION",
        "REASON",
    ]);
    for r in runs {
        let state = if r.backup_id.is_empty() {
            String::new()
        } else {
            enum_word(r.backup_state().as_str_name(), "BACKUP_STATE_")
        };
        table.push(vec![
            out.time(r.scheduled_time.as_ref()).into(),
            enum_word(r.trigger().as_str_name(), "SCHEDULE_RUN_TRIGGER_").into(),
            enum_word(r.decision().as_str_name(), "SCHEDULE_RUN_DECISION_").into(),
            r.backup_id.clone().into(),
            state.into(),
            retention(r.retention.as_ref()).into(),
            r.reason.clone().into(),
        ]);
    }
    View {
        table,
        items: runs.iter().map(json_of).collect(),
        ..View::default()
    }
}

/// What retention did after a run: `done, pruned 2`.
fn retention(r: Option<&pb::RetentionResult>) -> String {
    let Some(r) = r else {
        return String::new();
    };
    let mut word = enum_word(r.state().as_str_name(), "RETENTION_STATE_");
    if r.pruned > 0 {
        word.push_str(&format!(", pruned {}", r.pruned));
    }
    if r.failed > 0 {
        word.push_str(&format!(", {} failed", r.failed));
    }
    word
}
