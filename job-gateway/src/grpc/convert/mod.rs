//! Every conversion between the `jobgateway.v1` protos and the BlueKing client's types.
//!
//! Inbound requests are validated once, here, by `TryFrom<pb::XRequest>` impls that
//! destructure every field, so a field added to a proto fails to compile until it is handled.
//! A violation is [`GatewayError::invalid`] (INVALID_ARGUMENT with a `BadRequest`) naming the
//! proto field. Outbound conversions never fail: a field BlueKing left out becomes the proto
//! default, an unknown code becomes the enum's `_UNRECOGNIZED` value with the raw code kept, and
//! a time or duration a `Timestamp` / `Duration` cannot hold (past 9999-12-31) is left unset.

mod agent;
mod cmdb;
mod job_logs;
mod job_queries;
mod job_requests;
mod job_status;
mod plan;

pub(crate) use agent::*;
pub(crate) use cmdb::*;
pub(crate) use job_logs::*;
pub(crate) use job_queries::*;
pub(crate) use job_requests::*;
pub(crate) use job_status::*;
pub(crate) use plan::*;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost_types::{Duration, Timestamp};
use proto::jobgateway::v1 as pb;

use crate::bk;
use crate::error::{GatewayError, GatewayResult};

/// Page size when a request asks for 0.
pub(crate) const DEFAULT_PAGE_SIZE: i64 = 100;

/// A required, valid scope.
pub(crate) fn scope(field: &str, scope: Option<pb::Scope>) -> GatewayResult<bk::Scope> {
    let Some(pb::Scope {
        bk_scope_type,
        bk_scope_id,
    }) = scope
    else {
        return Err(GatewayError::invalid(field, "is required"));
    };
    let scope_type = match pb::ScopeType::try_from(bk_scope_type) {
        Ok(pb::ScopeType::Biz) => bk::ScopeType::Biz,
        Ok(pb::ScopeType::BizSet) => bk::ScopeType::BizSet,
        _ => {
            return Err(GatewayError::invalid(
                format!("{field}.bk_scope_type"),
                "must be SCOPE_TYPE_BIZ or SCOPE_TYPE_BIZ_SET",
            ));
        }
    };
    let scope_id = positive(&format!("{field}.bk_scope_id"), bk_scope_id)?;
    Ok(bk::Scope {
        scope_type,
        scope_id,
    })
}

/// The proto form of a scope.
pub(crate) fn scope_to_pb(scope: &bk::Scope) -> pb::Scope {
    let t = match scope.scope_type {
        bk::ScopeType::Biz => pb::ScopeType::Biz,
        bk::ScopeType::BizSet => pb::ScopeType::BizSet,
    };
    pb::Scope {
        bk_scope_type: t as i32,
        bk_scope_id: scope.scope_id,
    }
}

/// The scope JOB echoed (`"biz"`, `"12"`), or `fallback` when it echoed none.
pub(crate) fn echoed_scope(t: Option<&str>, id: Option<&str>, fallback: &bk::Scope) -> pb::Scope {
    let scope_type = match t {
        Some("biz") => pb::ScopeType::Biz,
        Some("biz_set") => pb::ScopeType::BizSet,
        _ => return scope_to_pb(fallback),
    };
    match id.and_then(|i| i.parse().ok()) {
        Some(bk_scope_id) => pb::Scope {
            bk_scope_type: scope_type as i32,
            bk_scope_id,
        },
        None => scope_to_pb(fallback),
    }
}

/// `value` when positive.
pub(crate) fn positive(field: &str, value: i64) -> GatewayResult<i64> {
    if value < 1 {
        return Err(GatewayError::invalid(field, "must be positive"));
    }
    Ok(value)
}

/// `value` when non-blank.
pub(crate) fn non_blank(value: String) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Seconds of the last instant a `google.protobuf.Timestamp` may hold, 9999-12-31T23:59:59Z.
/// JSON renderings of a later Timestamp (buf curl, grpcurl) fail, so none is ever emitted.
pub(crate) const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// Plan times at or above this are milliseconds: as seconds they would be after the year
/// 5000, as milliseconds they are after March 1973 (docs/blueking.md, "Times").
pub(crate) const PLAN_TIME_MS_FROM: i64 = 100_000_000_000;

/// A Timestamp `ms` milliseconds after the epoch, unset when not positive or past year 9999.
fn ts_from_ms(ms: i64) -> Option<Timestamp> {
    let seconds = ms.div_euclid(1000);
    (ms > 0 && seconds <= MAX_TIMESTAMP_SECONDS).then(|| Timestamp {
        seconds,
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// A JOB millisecond time (job and step instances); absent, non-positive or past year 9999
/// is unset.
pub(crate) fn ts_ms(ms: Option<i64>) -> Option<Timestamp> {
    ms.and_then(ts_from_ms)
}

/// A JOB plan time. The server stores seconds but its docs' examples show milliseconds, so
/// both are accepted (see [`PLAN_TIME_MS_FROM`]); absent, non-positive or past year 9999 is
/// unset.
pub(crate) fn ts_plan(t: Option<i64>) -> Option<Timestamp> {
    match t? {
        ms if ms >= PLAN_TIME_MS_FROM => ts_from_ms(ms),
        secs => ts_from_ms(secs.checked_mul(1000)?),
    }
}

/// Seconds of the longest `google.protobuf.Duration`, 10,000 years.
pub(crate) const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

/// A JOB millisecond duration; absent, negative or longer than a Duration may be is unset.
pub(crate) fn duration_ms(ms: Option<i64>) -> Option<Duration> {
    ms.filter(|m| (0..=MAX_DURATION_SECONDS * 1000).contains(m))
        .map(|m| Duration {
            seconds: m / 1000,
            nanos: ((m % 1000) * 1_000_000) as i32,
        })
}

/// A timestamp as JOB milliseconds.
pub(crate) fn ms_of(field: &str, ts: Option<Timestamp>) -> GatewayResult<i64> {
    let ts = ts.ok_or_else(|| GatewayError::invalid(field, "is required"))?;
    if !(1..=MAX_TIMESTAMP_SECONDS).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos)
    {
        return Err(GatewayError::invalid(
            field,
            "must be a valid time after 1970 and before 10000",
        ));
    }
    Ok(ts.seconds * 1000 + i64::from(ts.nanos / 1_000_000))
}

/// Offset paging behind AIP-158 tokens. A token is the offset plus a fingerprint of the
/// request's filters, so a token replayed with other filters is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// Offset of the first item.
    pub offset: i64,
    /// Items wanted.
    pub size: i64,
    fingerprint: u64,
}

impl Page {
    /// Parses `page_size` (0 = default, clamped to `max`) and `page_token` for filters
    /// described by `filters`.
    pub(crate) fn parse(
        page_size: i32,
        token: &str,
        max: i64,
        filters: &str,
    ) -> GatewayResult<Self> {
        if page_size < 0 {
            return Err(GatewayError::invalid("page_size", "must not be negative"));
        }
        let size = match i64::from(page_size) {
            0 => DEFAULT_PAGE_SIZE.min(max),
            n => n.min(max),
        };
        let fingerprint = fnv1a(filters);
        let offset = if token.is_empty() {
            0
        } else {
            let bad = || GatewayError::invalid("page_token", "is not a token of this request");
            let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (offset, fp) = text.split_once('.').ok_or_else(bad)?;
            let offset: i64 = offset.parse().map_err(|_| bad())?;
            if u64::from_str_radix(fp, 16).ok() != Some(fingerprint) || offset < 0 {
                return Err(bad());
            }
            offset
        };
        Ok(Self {
            offset,
            size,
            fingerprint,
        })
    }

    /// The token of the page after this one, or empty when `returned` items reached `total`.
    pub(crate) fn next_token(&self, returned: usize, total: i64) -> String {
        let next = self.offset + returned as i64;
        if returned == 0 || next >= total {
            return String::new();
        }
        URL_SAFE_NO_PAD.encode(format!("{next}.{:x}", self.fingerprint))
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A proto host address as the client's.
pub(crate) fn host_ip(field: &str, h: pb::HostAddress) -> GatewayResult<bk::HostIp> {
    let pb::HostAddress {
        bk_host_id: _,
        bk_cloud_id,
        ip,
    } = h;
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(GatewayError::invalid(
            field,
            format!("`{ip}` is not an IPv4 address"),
        ));
    }
    if bk_cloud_id < 0 {
        return Err(GatewayError::invalid(
            field,
            "bk_cloud_id must not be negative",
        ));
    }
    Ok(bk::HostIp { bk_cloud_id, ip })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
