//! Who is calling, and whether they may touch a business: every RPC of BackupService,
//! ScheduleService and AuditService asks here before it reads or changes anything.
//!
//! A caller is a service (a bearer token acting as its fixed user or naming one as a
//! delegator, see `service_kit::auth`) or a person presenting their BlueKing login token,
//! verified through job-gateway's LoginService (an unknown or expired token is
//! UNAUTHENTICATED naming the page to log in at). Whether the caller's user may act on a
//! business is BlueKing's answer, remembered briefly (`crate::access`); a listing without a
//! business filter shows only the businesses BlueKing lists for the user.

use std::sync::Arc;

use service_kit::auth::{Caller, LoginToken};
use tonic::{Request, Status};

use crate::access::Access;
use crate::audit::Actor;
use crate::gateway::Gateway;
use crate::store::Within;

/// Identity and per-business authorization for the adapters.
#[derive(Debug, Clone)]
pub struct Guard {
    gateway: Gateway,
    access: Access,
    default_operator: Option<String>,
}

impl Guard {
    /// Verifies people through `gateway` and asks `access` about businesses;
    /// `default_operator` stands in only while authentication is off and no user is named.
    pub fn new(gateway: Gateway, access: Access, default_operator: Option<String>) -> Self {
        Self {
            gateway,
            access,
            default_operator,
        }
    }

    /// The verified caller of `req`: a person's login token's user, else the service token's
    /// user (or, with authentication off, `x-bk-username` or the default operator).
    pub async fn who<T>(&self, req: &Request<T>) -> Result<Actor, Status> {
        if let Some(LoginToken(token)) = req.extensions().get::<LoginToken>() {
            let user = self.gateway.verify_login(token).await?;
            return Ok(Actor {
                token_name: String::new(),
                bk_username: user,
            });
        }
        let default = self.default_operator.as_deref();
        let (user, defaulted) = service_kit::auth::operator(req, default)?;
        if defaulted {
            tracing::info!(operator = %user, "no x-bk-username: using the default operator");
        }
        let token_name = req
            .extensions()
            .get::<Caller>()
            .map(|c| c.token.clone())
            .unwrap_or_default();
        Ok(Actor {
            token_name,
            bk_username: user,
        })
    }

    /// Ok when `user` may act on business `bk_biz_id`: PERMISSION_DENIED with BlueKing's
    /// permission details and apply URL, or NOT_FOUND, otherwise.
    pub async fn may(&self, user: &str, bk_biz_id: i64) -> Result<(), Status> {
        Ok(self.access.check(user, bk_biz_id).await?)
    }

    /// The businesses a listing shows `user`: the one its filter names (`Some`, checked), else
    /// those BlueKing lists for the user.
    pub async fn within(&self, user: &str, filter: Option<i64>) -> Result<Within, Status> {
        match filter {
            Some(biz) => {
                self.may(user, biz).await?;
                Ok(Within::Any)
            }
            None => Ok(Within::Only(self.visible(user).await?)),
        }
    }

    /// The businesses BlueKing lists for `user`, ascending.
    pub async fn visible(&self, user: &str) -> Result<Arc<Vec<i64>>, Status> {
        Ok(self.access.businesses(user).await?)
    }
}
