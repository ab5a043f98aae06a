//! The one wrapper every mutating RPC of BackupService and ScheduleService runs in: it resolves
//! the caller, runs the call, and writes the call's audit event (`crate::audit`) once decided,
//! refusals included.

use std::future::Future;

use tonic::{Request, Response, Status};

use super::Limits;
use super::backup::caller;
use crate::audit::{Actor, Audit, Done};

/// What an audited call is about before it runs.
pub(super) struct Subject {
    /// The RPC.
    pub action: &'static str,
    /// The backup or schedule the request names; empty for none.
    pub target: String,
    /// The business the request names, when it names one.
    pub bk_biz_id: Option<i64>,
}

/// Runs `call` for `request` as its caller (under `limits`' operator rule) and records the
/// event: on success what `done` tells of the answer (business, target, summary); on failure
/// the `subject`, its business looked up with `business_of(target)` when the request named
/// none.
pub(super) async fn audited<Req, Resp, Fut, Biz>(
    audit: &Audit,
    limits: &Limits,
    request: Request<Req>,
    subject: Subject,
    call: impl FnOnce(Req, String) -> Fut,
    done: impl FnOnce(&Resp) -> (Option<i64>, String, String),
    business_of: impl FnOnce(String) -> Biz,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = crate::error::Result<Resp>>,
    Biz: Future<Output = Option<i64>>,
{
    let actor = Actor::of(&request);
    let result = match caller(&request, limits) {
        Ok(operator) => call(request.into_inner(), operator)
            .await
            .map_err(Status::from),
        Err(s) => Err(s),
    };
    let (biz, target, message) = match &result {
        Ok(r) => done(r),
        Err(_) => (subject.bk_biz_id, subject.target, String::new()),
    };
    let bk_biz_id = match biz {
        Some(b) => Some(b),
        None => business_of(target.clone()).await,
    };
    let event = Done {
        bk_biz_id,
        target,
        message,
    };
    audit
        .record(&actor, subject.action, event, result.as_ref().map(|_| ()))
        .await;
    result.map(Response::new)
}
