//! When a schedule fires: a cron spec read in an IANA time zone, bounded by optional start and
//! end times, each fire delayed by an optional jitter. [`Spec`] is validated once, when built
//! (from a request or from a stored row, by the same code), and cannot hold a bad value.
//!
//! The decision a reader must know: **cron is matched on the zone's wall clock, and each wall-clock
//! time fires exactly once.** croner finds the next matching wall-clock time with no zone at all
//! (a `NaiveDateTime`), and only then is that time placed in the zone:
//! - a wall-clock time that does not exist (spring forward) fires once, at the first real instant
//!   after the gap (02:30 on a New York spring-forward day fires at 03:00 EDT); several such times
//!   (every 10 s inside the gap) fall on that one instant and fire once together;
//! - a wall-clock time that occurs twice (fall back) fires once, at the earlier instant. This holds
//!   for interval specs too: `0 * * * *` fires at the first 01:00 and not at the second, so an
//!   hourly schedule has one two-hour interval that night. croner's own zoned search fires
//!   interval specs at both instants (a test in `spec_tests.rs` shows it), which is why the zone
//!   is applied here, not by croner.
//!
//! Fire times are nominal (whole seconds, the schedule's run key); jitter moves only *when* a
//! fire is made ([`Spec::due_at`]), by an amount every replica computes alike from the schedule id
//! and the nominal time.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::BackupError;

/// Longest jitter: a day. A longer one would delay fires past several later ones of most specs.
pub const MAX_JITTER: TimeDelta = TimeDelta::days(1);
/// Longest accepted cron text.
pub const MAX_CRON_CHARS: usize = 200;
/// Wall-clock candidates examined for one next fire: enough to walk past a two-hour fall-back
/// overlap of a every-second spec, whose wall-clock times all fired already.
const MAX_STEPS: usize = 2 * 3600 + 10;

/// A spec as given (by a request or a stored row), not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecInput {
    /// Five fields, six with leading seconds, or a macro (`@daily`, ...).
    pub cron: String,
    /// IANA zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// No fire before this instant.
    pub start_time: Option<DateTime<Utc>>,
    /// No fire after this instant.
    pub end_time: Option<DateTime<Utc>>,
    /// Each fire is made up to this long after its nominal time; zero for none.
    pub jitter: TimeDelta,
}

/// A spec field that is not acceptable, and why; INVALID_ARGUMENT naming the field at the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// `cron`, `time_zone`, `start_time`, `end_time` or `jitter`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl From<SpecError> for BackupError {
    fn from(e: SpecError) -> Self {
        BackupError::invalid(e.field, e.reason)
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SpecError {
    SpecError {
        field,
        reason: reason.into(),
    }
}

/// A validated schedule spec.
#[derive(Debug, Clone)]
pub struct Spec {
    input: SpecInput,
    cron: Cron,
    zone: Tz,
}

impl Spec {
    /// Validates `input`: a cron spec croner accepts (5 fields, or 6 with leading seconds; no
    /// year field) that fires at least once, a zone the tz database knows, the end not before
    /// the start, and a jitter from zero to [`MAX_JITTER`].
    pub fn new(input: SpecInput) -> Result<Self, SpecError> {
        let text = input.cron.trim();
        if text.is_empty() {
            return Err(invalid("cron", "must not be empty"));
        }
        if text.chars().count() > MAX_CRON_CHARS {
            return Err(invalid(
                "cron",
                format!("longer than {MAX_CRON_CHARS} characters"),
            ));
        }
        // croner knows every macro of the issue but `@midnight`, cron's other name for `@daily`.
        let text = if text.eq_ignore_ascii_case("@midnight") {
            "@daily"
        } else {
            text
        };
        let fields = text.split_whitespace().count();
        if !text.starts_with('@') && !(5..=6).contains(&fields) {
            return Err(invalid(
                "cron",
                format!("has {fields} fields; expected 5, or 6 with leading seconds"),
            ));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build()
            .parse(text)
            .map_err(|e| invalid("cron", format!("`{text}` is not a cron spec: {e}")))?;
        let zone = Tz::from_str(&input.time_zone)
            .map_err(|_| invalid("time_zone", format!("unknown zone {:?}", input.time_zone)))?;
        if let (Some(start), Some(end)) = (input.start_time, input.end_time)
            && end < start
        {
            return Err(invalid("end_time", "is before start_time"));
        }
        if input.jitter < TimeDelta::zero() {
            return Err(invalid("jitter", "must not be negative"));
        }
        if input.jitter > MAX_JITTER {
            return Err(invalid("jitter", "must be at most a day"));
        }
        let origin = NaiveDateTime::default();
        if cron.find_next_occurrence(&origin, false).is_err() {
            return Err(invalid("cron", format!("`{text}` never fires")));
        }
        Ok(Self { input, cron, zone })
    }

    /// The spec as given (what the store keeps).
    pub fn input(&self) -> &SpecInput {
        &self.input
    }

    /// The zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first nominal fire strictly after `t`, within the start and end times; `None` when
    /// the schedule has no more fires.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = match self.input.start_time {
            // Fires at the start instant itself count.
            Some(start) if t < start => start - TimeDelta::nanoseconds(1),
            _ => t,
        };
        let next = self.next_in_zone_after(t)?;
        match self.input.end_time {
            Some(end) if next > end => None,
            _ => Some(next),
        }
    }

    /// Nominal fires strictly after `t`, in order, as far as the end time.
    pub fn fires_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(self.next_after(t), |&f| self.next_after(f))
    }

    /// Nominal fires in `(from, to]`, in order: the fires missed between two instants, for
    /// catch-up. Lazy, so a caller bounds how many it takes.
    pub fn fires_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.fires_after(from).take_while(move |&f| f <= to)
    }

    /// The next `n` nominal fires after `t` (PreviewSchedule).
    pub fn preview(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.fires_after(t).take(n).collect()
    }

    /// When nominal fire `fire` of schedule `schedule_id` is made: `fire` plus an offset in
    /// `[0, jitter]` (millisecond steps) taken from a hash of the two, so every replica computes
    /// the same instant and fires of one schedule spread differently.
    pub fn due_at(&self, schedule_id: Uuid, fire: DateTime<Utc>) -> DateTime<Utc> {
        let span = self.input.jitter.num_milliseconds();
        if span <= 0 {
            return fire;
        }
        let digest = Sha256::new()
            .chain_update(schedule_id.as_bytes())
            .chain_update(fire.timestamp_micros().to_be_bytes())
            .finalize();
        let word = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        fire + TimeDelta::milliseconds((word % (span as u64 + 1)) as i64)
    }

    /// The first instant after `t` at which a wall-clock time matching the cron spec happens or,
    /// for a time skipped by the zone, the gap ends. See the module header.
    fn next_in_zone_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut wall = t.with_timezone(&self.zone).naive_local();
        for _ in 0..MAX_STEPS {
            wall = self.cron.find_next_occurrence(&wall, false).ok()?;
            let instant = self.instant_of(wall);
            // Inside the second pass of a fall-back overlap, the wall-clock times ahead of `t`
            // already fired at their earlier instant: keep walking.
            if instant > t {
                return Some(instant);
            }
        }
        None
    }

    /// Where wall-clock time `wall` falls: its only instant, the earlier of two, or the end of
    /// the gap it is in.
    fn instant_of(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        match self.zone.from_local_datetime(&wall) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => self.gap_end(wall),
        }
    }

    /// The first instant whose wall-clock time is at or after `wall`, a time inside a gap. UTC
    /// offsets lie within ±15 h, so that instant is within 15 h of `wall` read as UTC; the
    /// wall clock only moves forward across a gap, so a binary search over seconds finds it.
    fn gap_end(&self, wall: NaiveDateTime) -> DateTime<Utc> {
        let as_utc = wall.and_utc().timestamp();
        let (mut lo, mut hi) = (as_utc - 15 * 3600, as_utc + 15 * 3600);
        let reached = |s: i64| {
            DateTime::from_timestamp(s, 0)
                .is_some_and(|t| t.with_timezone(&self.zone).naive_local() >= wall)
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if reached(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        DateTime::from_timestamp(hi, 0).expect("within chrono's range")
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
