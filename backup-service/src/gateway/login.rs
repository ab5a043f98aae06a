//! Who a person's BlueKing login token belongs to, asked of job-gateway's LoginService (which
//! asks BlueKing's login service and remembers verified tokens for `bk.login_cache_ms`).

use proto::jobgateway::v1 as pb;
use secrecy::{ExposeSecret, SecretString};
use tonic::Status;

use super::Gateway;

impl Gateway {
    /// The BlueKing username `bk_token` belongs to; UNAUTHENTICATED (naming the page to log in
    /// at) for an unknown or expired token, UNAVAILABLE when BlueKing cannot be asked.
    pub async fn verify_login(&self, bk_token: &SecretString) -> Result<String, Status> {
        let req = pb::VerifyTokenRequest {
            bk_token: bk_token.expose_secret().to_owned(),
        };
        let resp = self
            .login
            .clone()
            .verify_token(self.service_request(req)?)
            .await?
            .into_inner();
        Ok(resp.bk_username)
    }
}
