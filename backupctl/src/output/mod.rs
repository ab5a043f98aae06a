//! How results are shown: [`Out`] knows the format, whether stdout is a terminal (colour only
//! there and never with `NO_COLOR`; OSC 8 links only there), whether someone watches stderr
//! (progress bars), and the time zone (local unless `--utc`). A command builds a [`View`] (a table, its JSON document and items) and prints it.

mod json;
mod table;

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};

pub use json::{Json, json_of};
pub use table::{Cell, Color, Table};

use crate::cli::Format;

/// How to print.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// Output format.
    pub format: Format,
    /// ANSI colours.
    pub color: bool,
    /// OSC 8 hyperlinks.
    pub links: bool,
    /// Times in UTC.
    pub utc: bool,
    /// stderr is a terminal: someone is watching (progress bars, and waiting by default),
    /// even when stdout is piped.
    pub tty: bool,
}

impl Out {
    /// From the options and the environment.
    pub fn new(format: Option<Format>, utc: bool) -> Self {
        Self::decide(
            format,
            utc,
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        )
    }

    /// The choice for these terminals and `NO_COLOR` (set and not empty: no colour).
    fn decide(
        format: Option<Format>,
        utc: bool,
        stdout_tty: bool,
        stderr_tty: bool,
        no_color: Option<std::ffi::OsString>,
    ) -> Self {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        Self {
            format: format.unwrap_or(Format::Table),
            color: stdout_tty && !no_color,
            links: stdout_tty,
            utc,
            tty: stderr_tty,
        }
    }

    /// A timestamp for people: local time with its offset, or UTC with `--utc`; `-` for none.
    pub fn time(&self, t: Option<&prost_types::Timestamp>) -> String {
        let Some(t) = t else {
            return "-".to_owned();
        };
        let Some(at) = DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32) else {
            return "-".to_owned();
        };
        if self.utc {
            at.format("%Y-%m-%d %H:%M:%SZ").to_string()
        } else {
            at.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S%:z")
                .to_string()
        }
    }

    /// Prints `view` in the chosen format.
    pub fn print(&self, view: &View) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        match self.format {
            Format::Table => {
                for line in &view.head {
                    writeln!(stdout, "{line}")?;
                }
                stdout.write_all(view.table.render(self.color, self.links).as_bytes())?;
                for line in &view.notes {
                    writeln!(stdout, "{line}")?;
                }
            }
            Format::Csv => stdout.write_all(view.table.csv()?.as_bytes())?,
            Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&view.doc)?)?,
            Format::Jsonl => {
                for item in &view.items {
                    writeln!(stdout, "{}", serde_json::to_string(item)?)?;
                }
            }
        }
        Ok(())
    }
}

/// One command's result in every format.
#[derive(Debug, Default)]
pub struct View {
    /// Lines before the table; table only.
    pub head: Vec<String>,
    /// `-o table` and `-o csv`.
    pub table: Table,
    /// Lines after the table (totals, warnings); table only.
    pub notes: Vec<String>,
    /// `-o json`: one document.
    pub doc: serde_json::Value,
    /// `-o jsonl`: one object a line.
    pub items: Vec<serde_json::Value>,
}

/// Bytes for people: `1.5 MiB`.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The name of a proto enum value for people: `BACKUP_STATE_PARTIAL` with prefix
/// `BACKUP_STATE_` → `partial`.
pub fn enum_word(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
        .replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color_and_bars_follow_stderr() {
        let pick = |out, err, no_color: Option<&str>| {
            let o = Out::decide(None, false, out, err, no_color.map(Into::into));
            (o.color, o.links, o.tty)
        };
        assert_eq!(pick(true, true, None), (true, true, true));
        assert_eq!(pick(true, true, Some("1")), (false, true, true));
        assert_eq!(pick(true, true, Some("")), (true, true, true));
        assert_eq!(pick(false, true, None), (false, false, true));
        assert_eq!(pick(false, false, None), (false, false, false));
        assert_eq!(
            Out::decide(None, false, false, false, None).format,
            Format::Table
        );
    }

    #[test]
    fn sizes_are_shown_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn times_are_utc_with_utc_and_none_is_a_dash() {
        let out = Out {
            format: Format::Table,
            color: false,
            links: false,
            utc: true,
            tty: false,
        };
        let t = prost_types::Timestamp {
            seconds: 1_796_000_000,
            nanos: 0,
        };
        assert_eq!(out.time(Some(&t)), "2026-11-30 00:53:20Z");
        assert_eq!(out.time(None), "-");
        assert_eq!(
            enum_word("BACKUP_STATE_PARTIAL", "BACKUP_STATE_"),
            "partial"
        );
        assert_eq!(
            enum_word("AGENT_STATUS_NOT_FOUND", "AGENT_STATUS_"),
            "not found"
        );
    }
}
