//! The commands, one file per group, and what they share: the business a command is about,
//! reading a listing page by page, and times given on the command line.

mod backup;
mod browse;
mod meta;
mod records;
pub mod schedule;
pub mod schedule_cli;
mod schedule_view;
mod search;
mod watch;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use crate::cli::{BackupCommand, Cli, Command, Paging, RecordsCommand};
use crate::client::Clients;
use crate::config::{self, Settings};
use crate::error::CliError;
use crate::output::Out;

/// What every command that talks to the server has.
pub struct Ctx {
    pub clients: Clients,
    pub settings: Settings,
    pub out: Out,
}

impl Ctx {
    /// The business: `--biz`, else the profile's, else the only one the caller may see; with
    /// several, a usage error listing them.
    pub async fn biz(&self, given: Option<i64>) -> Result<i64, CliError> {
        if let Some(biz) = given.or(self.settings.biz) {
            return Ok(biz);
        }
        let req = proto::backup::v1::ListBusinessesRequest {
            page_size: 20,
            ..Default::default()
        };
        let seen = self
            .clients
            .hosts()
            .list_businesses(req)
            .await?
            .into_inner();
        match seen.businesses.as_slice() {
            [only] if seen.next_page_token.is_empty() => Ok(only.bk_biz_id),
            [] => Err(CliError::Usage("you may see no business".to_owned())),
            some => {
                let names: Vec<String> = some
                    .iter()
                    .map(|b| format!("{} ({})", b.bk_biz_id, b.bk_biz_name))
                    .collect();
                let more = if seen.next_page_token.is_empty() {
                    ""
                } else {
                    ", …"
                };
                Err(CliError::Usage(format!(
                    "give --biz: you may see {}{more}",
                    names.join(", ")
                )))
            }
        }
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Out::new(cli.global.output, cli.global.utc);
    match cli.command {
        Command::Completions { shell } => return meta::completions(shell),
        Command::Man => return meta::man(),
        _ => {}
    }
    let settings = config::resolve(&cli.global)?;
    let clients = Clients::connect(&settings).await?;
    let ctx = Ctx {
        clients,
        settings,
        out,
    };
    match cli.command {
        Command::Businesses(a) => browse::businesses(&ctx, a).await,
        Command::Topology(a) => browse::topology(&ctx, a).await,
        Command::Hosts(a) => browse::hosts(&ctx, a).await,
        Command::Search(a) => search::run(&ctx, a).await,
        Command::Backup(BackupCommand::Start(a)) => backup::start(&ctx, a).await,
        Command::Backup(BackupCommand::Get { id, files }) => backup::get(&ctx, &id, files).await,
        Command::Backup(BackupCommand::List(a)) => backup::list(&ctx, a).await,
        Command::Backup(BackupCommand::Watch { id }) => watch::follow(&ctx, &id).await,
        Command::Backup(BackupCommand::Cancel { id }) => backup::cancel(&ctx, &id).await,
        Command::Backup(BackupCommand::Retry { id, wait }) => backup::retry(&ctx, &id, wait).await,
        Command::Records(RecordsCommand::List(a)) => records::list(&ctx, a).await,
        Command::Schedule(c) => schedule::run(&ctx, c).await,
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// Rows of a listing read page by page: up to `--limit` (default 50), or every one with `--all`.
/// `fetch(page_size, token)` returns a page and the next token.
pub async fn collect<T, F, Fut>(paging: Paging, mut fetch: F) -> Result<Vec<T>, CliError>
where
    F: FnMut(i32, String) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let limit = if paging.all {
        usize::MAX
    } else {
        paging.limit.unwrap_or(50)
    };
    let mut rows = Vec::new();
    let mut token = String::new();
    while rows.len() < limit {
        let size = (limit - rows.len()).min(500) as i32;
        let (page, next) = fetch(size, token).await?;
        rows.extend(page);
        if next.is_empty() {
            break;
        }
        token = next;
    }
    rows.truncate(limit);
    Ok(rows)
}

/// A time given as RFC 3339, or as a date (its midnight, local or with `utc` UTC), for `flag`.
pub fn parse_time(flag: &str, text: &str, utc: bool) -> Result<prost_types::Timestamp, CliError> {
    let at: DateTime<Utc> = if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        t.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight exists");
        if utc {
            midnight.and_utc()
        } else {
            Local
                .from_local_datetime(&midnight)
                .earliest()
                .ok_or_else(|| CliError::Usage(format!("{flag}: no local midnight on {text}")))?
                .with_timezone(&Utc)
        }
    } else {
        return Err(CliError::Usage(format!(
            "{flag}: `{text}` is not a date (2026-12-01) or an RFC 3339 time (2026-12-01T08:00:00Z)"
        )));
    };
    Ok(prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    })
}

/// An optional time option.
pub fn time_opt(
    flag: &str,
    text: &Option<String>,
    utc: bool,
) -> Result<Option<prost_types::Timestamp>, CliError> {
    text.as_deref()
        .map(|t| parse_time(flag, t, utc))
        .transpose()
}

/// A duration given as seconds or with a unit (`90`, `90s`, `15m`, `2h`, `1d`).
pub fn parse_duration(flag: &str, text: &str) -> Result<prost_types::Duration, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "{flag}: `{text}` is not a duration like 90s, 15m or 2h"
        ))
    };
    let (num, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |i| text.split_at(i));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(prost_types::Duration {
        seconds: n.checked_mul(scale).ok_or_else(bad)?,
        nanos: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_or_a_dates_midnight() {
        let t = parse_time("--since", "2026-12-01T08:00:00+08:00", false).unwrap();
        assert_eq!(t.seconds, 1_796_083_200);
        let d = parse_time("--since", "2026-12-01", true).unwrap();
        assert_eq!(d.seconds, 1_796_083_200);
        let err = parse_time("--since", "yesterday", true).unwrap_err();
        assert!(err.to_string().starts_with("--since: `yesterday`"));
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("--timeout", "90").unwrap().seconds, 90);
        assert_eq!(parse_duration("--timeout", "15m").unwrap().seconds, 900);
        assert_eq!(parse_duration("--timeout", "2h").unwrap().seconds, 7200);
        assert!(parse_duration("--timeout", "2w").is_err());
        assert!(parse_duration("--timeout", "m").is_err());
    }
}
