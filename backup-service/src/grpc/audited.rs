//! The one wrapper every mutating RPC of BackupService and ScheduleService runs in: it
//! verifies the caller, checks they may act on the business the call is about (named by the
//! request, or the business of the backup or schedule it names), runs the call, and writes the
//! call's audit event (`crate::audit`) once decided, refusals included.

use std::future::Future;

use tonic::{Request, Response, Status};

use super::guard::Guard;
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

/// Runs `call` for `request` as its verified caller, once `guard` lets that caller act on the
/// subject's business (the request's, else `business_of(target)`; a target that does not
/// exist is left to `call` to refuse), and records the event: on success what `done` tells
/// of the answer (business, target, summary); on failure the subject and its business.
pub(super) async fn audited<Req, Resp, Fut, Biz>(
    audit: &Audit,
    guard: &Guard,
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
    let biz = match subject.bk_biz_id {
        Some(b) => Some(b),
        None if subject.target.is_empty() => None,
        None => business_of(subject.target.clone()).await,
    };
    let (actor, result) = match guard.who(&request).await {
        Ok(actor) => {
            let allowed = match biz {
                Some(b) => guard.may(&actor.bk_username, b).await,
                None => Ok(()),
            };
            let result = match allowed {
                Ok(()) => call(request.into_inner(), actor.bk_username.clone())
                    .await
                    .map_err(Status::from),
                Err(s) => Err(s),
            };
            (actor, result)
        }
        Err(s) => (Actor::of(&request), Err(s)),
    };
    let event = match &result {
        Ok(r) => {
            let (b, target, message) = done(r);
            Done {
                bk_biz_id: b.or(biz),
                target,
                message,
            }
        }
        Err(_) => Done {
            bk_biz_id: biz,
            target: subject.target,
            message: String::new(),
        },
    };
    audit
        .record(&actor, subject.action, event, result.as_ref().map(|_| ()))
        .await;
    result.map(Response::new)
}
