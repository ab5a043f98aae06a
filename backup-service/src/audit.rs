//! The audit trail: every mutating call writes one event once it has decided, whatever its
//! result (refusals included), and logs it. The event names the service token (never the
//! token itself), the BlueKing user, the business, the RPC, what it acted on and the result
//! code. Storing an event never changes the call's answer: a failure to store it is logged as
//! an error (the call has already happened or been refused by then).

use chrono::Utc;
use sqlx::PgPool;
use tonic::{Request, Status};

use service_kit::metrics::code_name;

use crate::store::audit::{self, NewEvent};

/// Who made a call: verified (`grpc::Guard::who`), or as far as the request tells when it
/// could not be verified ([`Actor::of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The service token's name; empty for a person (BlueKing login token) or none.
    pub token_name: String,
    /// The BlueKing user; empty when none could be told.
    pub bk_username: String,
}

impl Actor {
    /// The caller of `req` as far as it tells before any check: the authenticated token and its
    /// user; nobody for a person whose login token could not be verified; else the
    /// `x-bk-username` sent (authentication off).
    pub fn of<T>(req: &Request<T>) -> Self {
        if req
            .extensions()
            .get::<service_kit::auth::LoginToken>()
            .is_some()
        {
            return Self {
                token_name: String::new(),
                bk_username: String::new(),
            };
        }
        match req.extensions().get::<service_kit::auth::Caller>() {
            Some(c) => Self {
                token_name: c.token.clone(),
                bk_username: c.user.clone().unwrap_or_default(),
            },
            None => Self {
                token_name: String::new(),
                bk_username: service_kit::auth::username(req.metadata())
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
            },
        }
    }
}

/// What a decided call did, for its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The business acted on, when known.
    pub bk_biz_id: Option<i64>,
    /// The backup or schedule acted on; empty for none.
    pub target: String,
    /// A short summary (on success) or the error message.
    pub message: String,
}

/// Writes audit events.
#[derive(Debug, Clone)]
pub struct Audit {
    pool: PgPool,
}

impl Audit {
    /// Events go to `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records that `actor`'s call of `action` decided with `result`, having done `done`.
    pub async fn record(
        &self,
        actor: &Actor,
        action: &'static str,
        done: Done,
        result: Result<(), &Status>,
    ) {
        let code = match result {
            Ok(()) => tonic::Code::Ok,
            Err(s) => s.code(),
        };
        let event = NewEvent {
            at: Utc::now(),
            token_name: actor.token_name.clone(),
            bk_username: actor.bk_username.clone(),
            bk_biz_id: done.bk_biz_id,
            action,
            target: done.target,
            code: code_name(code),
            message: match result {
                Ok(()) => done.message,
                Err(s) => s.message().to_owned(),
            },
        };
        tracing::info!(
            target: "audit",
            action,
            token = %event.token_name,
            user = %event.bk_username,
            bk_biz_id = ?event.bk_biz_id,
            target_id = %event.target,
            code = event.code,
            message = %event.message,
            "audit"
        );
        if let Err(e) = audit::insert(&self.pool, &event).await {
            tracing::error!(action, error = %e, "audit event not stored");
        }
    }
}
