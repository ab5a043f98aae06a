//! `backup.v1.AuditService`: a business's audit trail, for the users BlueKing lets act on that
//! business (checked through the `Guard` before anything is read).

use proto::backup::v1 as pb;
use proto::backup::v1::audit_service_server::AuditService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::guard::Guard;
use crate::convert::page_token;
use crate::convert::{from_timestamp, optional_text, page_size, timestamp};
use crate::error::{BackupError, Result};
use crate::store::audit::{self, EventFilter, EventRow};

/// Page tokens of ListAuditEvents.
const TOKEN: &str = "a1";
/// Longest action name a filter takes.
const MAX_ACTION: usize = 64;

/// The AuditService adapter.
#[derive(Clone)]
pub struct AuditApi {
    pool: PgPool,
    guard: Guard,
}

impl AuditApi {
    /// The adapter, checking callers with BackupService's `guard`.
    pub fn new(pool: PgPool, guard: Guard) -> Self {
        Self { pool, guard }
    }

    async fn list(
        &self,
        req: pb::ListAuditEventsRequest,
        user: &str,
    ) -> Result<pb::ListAuditEventsResponse> {
        let pb::ListAuditEventsRequest {
            bk_biz_id,
            actions,
            bk_username,
            start_time,
            end_time,
            page_size: size,
            page_token,
        } = req;
        if bk_biz_id <= 0 {
            return Err(BackupError::invalid("bk_biz_id", "must be positive"));
        }
        for (i, a) in actions.iter().enumerate() {
            if a.is_empty() || a.len() > MAX_ACTION || !a.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(BackupError::invalid(
                    format!("actions[{i}]"),
                    "must be an RPC name such as StartBackup",
                ));
            }
        }
        let filter = EventFilter {
            bk_biz_id,
            actions,
            bk_username: optional_text("bk_username", bk_username, 64)?,
            from: start_time
                .map(|t| from_timestamp("start_time", t))
                .transpose()?,
            before: end_time
                .map(|t| from_timestamp("end_time", t))
                .transpose()?,
        };
        let size = page_size(size, 50, 500)?;
        let after = if page_token.is_empty() {
            None
        } else {
            Some(page_token::decode::<i64>(TOKEN, &page_token, &filter)?)
        };
        self.guard.may(user, bk_biz_id).await?;
        let (rows, more) = audit::list(&self.pool, &filter, after, size).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => page_token::encode(TOKEN, last.at, last.id, &filter),
            _ => String::new(),
        };
        Ok(pb::ListAuditEventsResponse {
            events: rows.into_iter().map(event).collect(),
            next_page_token,
        })
    }
}

fn event(e: EventRow) -> pb::AuditEvent {
    pb::AuditEvent {
        id: e.id,
        time: Some(timestamp(e.at)),
        token_name: e.token_name,
        bk_username: e.bk_username,
        bk_biz_id: e.bk_biz_id.unwrap_or(0),
        action: e.action,
        target: e.target,
        code: e.code,
        message: e.message,
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> std::result::Result<Response<pb::ListAuditEventsResponse>, Status> {
        let user = self.guard.who(&request).await?.bk_username;
        Ok(Response::new(self.list(request.into_inner(), &user).await?))
    }
}
