//! Building the HTTP request of one BlueKing call for either front door.
//!
//! ESB: `POST {esb_url}/api/c/compapi/v2/<system>/<api>/` with the parameters and the
//! credentials (`bk_app_code`, `bk_app_secret`, `bk_username`) in one JSON body. API gateway:
//! `{apigw_url}/api/<gateway>/<stage><path>` with the credentials only in the
//! `X-Bkapi-Authorization` header (marked sensitive, so no `Debug` shows it), GET with query
//! parameters for JOB reads, and CMDB ids in the path (body copies dropped). GSE v1 is only on
//! ESB and GSE v2 only on the gateway, whatever the configured transport.

use super::operator::{Credential, Operator};
use http::{HeaderValue, Method};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::error::BkError;
use crate::config::{BkSettings, Transport};

/// A BlueKing system (and, for GSE, API generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum System {
    /// JOB v3: ESB `jobv3`, gateway `bk-job`.
    Job,
    /// CMDB: ESB `cc`, gateway `bk-cmdb`.
    Cmdb,
    /// GSE 1.0 `get_agent_status`: ESB `gse` only.
    GseV1,
    /// GSE 2.0 `list_agent_state`: gateway `bk-gse` only.
    GseV2,
}

/// What a call does to BlueKing, which decides whether it may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads only: retried on any transient failure.
    Read,
    /// Launches or terminates a job: retried only when the failure proves it never arrived.
    Write,
}

/// One BlueKing call, independent of the front door.
#[derive(Debug, Clone)]
pub(crate) struct ApiCall {
    /// BlueKing API name (the ESB component name).
    pub(crate) api: &'static str,
    pub(crate) system: System,
    pub(crate) effect: Effect,
    /// Gateway method (JOB reads are GET; everything on ESB is POST).
    pub(crate) gateway_method: Method,
    /// Gateway resource path after `/api/<gateway>/<stage>`, ids filled in.
    pub(crate) gateway_path: String,
    /// Parameters that travel in the gateway path; left out of the gateway body and query.
    pub(crate) path_params: &'static [&'static str],
    /// Extra gateway query parameters (e.g. CMDB `with_default`).
    pub(crate) gateway_query: Vec<(&'static str, String)>,
    /// The parameters, as the ESB body carries them.
    pub(crate) params: Map<String, Value>,
    /// Business the call concerns, for the per-business rate limit.
    pub(crate) biz: Option<i64>,
}

impl ApiCall {
    /// A call with `params`, POST on both front doors, no path ids.
    pub(crate) fn new(
        system: System,
        api: &'static str,
        effect: Effect,
        gateway_path: String,
        params: Map<String, Value>,
    ) -> Self {
        Self {
            api,
            system,
            effect,
            gateway_method: Method::POST,
            gateway_path,
            path_params: &[],
            gateway_query: Vec::new(),
            params,
            biz: None,
        }
    }

    /// Uses GET with query parameters on the gateway.
    pub(crate) fn gateway_get(mut self) -> Self {
        self.gateway_method = Method::GET;
        self
    }

    /// Names the parameters the gateway path already carries.
    pub(crate) fn path_params(mut self, names: &'static [&'static str]) -> Self {
        self.path_params = names;
        self
    }

    /// Sets the business for the per-business rate limit.
    pub(crate) fn biz(mut self, biz: Option<i64>) -> Self {
        self.biz = biz;
        self
    }
}

/// Base URLs and credentials: everything needed to address and sign a call.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    transport: Transport,
    esb_url: String,
    apigw_url: String,
    stage: String,
    gateways: [String; 3],
    gateway_login: String,
    app_code: String,
    app_secret: SecretString,
}

const LANGUAGE: HeaderValue = HeaderValue::from_static("en");

impl Endpoints {
    /// Endpoints from settings; the secret must already be resolved.
    pub(crate) fn from_settings(bk: &BkSettings) -> Result<Self, BkError> {
        let app_secret = bk.app_secret.clone().ok_or_else(|| BkError::Request {
            api: "*",
            reason: "no app secret configured".to_owned(),
        })?;
        Ok(Self {
            transport: bk.transport,
            esb_url: bk.esb_url.trim_end_matches('/').to_owned(),
            apigw_url: bk.apigw_url.trim_end_matches('/').to_owned(),
            stage: bk.stage.clone(),
            gateways: [
                bk.gateway_job.clone(),
                bk.gateway_cmdb.clone(),
                bk.gateway_gse.clone(),
            ],
            gateway_login: bk.gateway_login.clone(),
            app_code: bk.app_code.clone(),
            app_secret,
        })
    }

    /// The front door a call of `system` goes through.
    pub(crate) fn front_door(&self, system: System) -> Transport {
        match system {
            System::Job | System::Cmdb => self.transport,
            System::GseV1 => Transport::Esb,
            System::GseV2 => Transport::Apigw,
        }
    }

    /// Builds the HTTP request of `call` made as `operator`.
    pub(crate) fn build(
        &self,
        http: &reqwest::Client,
        call: &ApiCall,
        operator: &Operator,
    ) -> Result<reqwest::Request, BkError> {
        let built = match self.front_door(call.system) {
            Transport::Esb => self.esb(http, call, operator)?,
            Transport::Apigw => self.gateway(http, call, operator)?,
        };
        built
            .header(http::header::ACCEPT, "application/json")
            .header("Blueking-Language", LANGUAGE)
            .build()
            .map_err(|e| BkError::Request {
                api: call.api,
                reason: e.to_string(),
            })
    }

    fn esb(
        &self,
        http: &reqwest::Client,
        call: &ApiCall,
        operator: &Operator,
    ) -> Result<reqwest::RequestBuilder, BkError> {
        let component = match call.system {
            System::Job => "jobv3",
            System::Cmdb => "cc",
            System::GseV1 | System::GseV2 => "gse",
        };
        let url = self.url(
            call.api,
            &format!(
                "{}/api/c/compapi/v2/{component}/{}/",
                self.esb_url, call.api
            ),
        )?;
        let mut body = call.params.clone();
        body.insert("bk_app_code".to_owned(), json!(self.app_code));
        body.insert(
            "bk_app_secret".to_owned(),
            json!(self.app_secret.expose_secret()),
        );
        operator.add_to(&mut body);
        Ok(http.post(url).json(&body))
    }

    fn gateway(
        &self,
        http: &reqwest::Client,
        call: &ApiCall,
        operator: &Operator,
    ) -> Result<reqwest::RequestBuilder, BkError> {
        let gateway = match call.system {
            System::Job => &self.gateways[0],
            System::Cmdb => &self.gateways[1],
            System::GseV1 | System::GseV2 => &self.gateways[2],
        };
        let mut url = self.url(
            call.api,
            &format!(
                "{}/api/{gateway}/{}{}",
                self.apigw_url, self.stage, call.gateway_path
            ),
        )?;
        let params = call
            .params
            .iter()
            .filter(|(k, _)| !call.path_params.contains(&k.as_str()));
        let builder = if call.gateway_method == Method::GET {
            {
                let mut query = url.query_pairs_mut();
                for (key, value) in params {
                    match value {
                        Value::Null => {}
                        Value::String(s) => {
                            query.append_pair(key, s);
                        }
                        Value::Bool(_) | Value::Number(_) => {
                            query.append_pair(key, &value.to_string());
                        }
                        Value::Array(_) | Value::Object(_) => {
                            return Err(BkError::Request {
                                api: call.api,
                                reason: format!(
                                    "`{key}` is not a scalar and cannot be a query parameter"
                                ),
                            });
                        }
                    }
                }
                for (key, value) in &call.gateway_query {
                    query.append_pair(key, value);
                }
            }
            if url.query() == Some("") {
                url.set_query(None);
            }
            http.get(url)
                .header(http::header::CONTENT_TYPE, "application/json")
        } else {
            if !call.gateway_query.is_empty() {
                let mut query = url.query_pairs_mut();
                for (key, value) in &call.gateway_query {
                    query.append_pair(key, value);
                }
            }
            let body: Map<String, Value> = params.map(|(k, v)| (k.clone(), v.clone())).collect();
            http.post(url).json(&body)
        };
        let mut auth = Map::new();
        // An access_token replaces the app's own credentials on the gateway.
        if !matches!(operator.credential(), Credential::AccessToken(_)) {
            auth.insert("bk_app_code".to_owned(), json!(self.app_code));
            auth.insert(
                "bk_app_secret".to_owned(),
                json!(self.app_secret.expose_secret()),
            );
        }
        operator.add_to(&mut auth);
        let auth = Value::Object(auth).to_string();
        let mut auth = HeaderValue::from_str(&auth).map_err(|_| BkError::Request {
            api: call.api,
            reason: "the operator or app code cannot travel in a header".to_owned(),
        })?;
        auth.set_sensitive(true);
        Ok(builder.header("X-Bkapi-Authorization", auth))
    }

    /// The request asking BlueKing's login service who `bk_token` belongs to, through the
    /// configured front door: ESB `POST bk_login/get_user/` with the token in the body instead of
    /// a user, or the login gateway's `GET /login/api/v3/open/bk-tokens/userinfo/?bk_token=…`
    /// with only the app in the header. Returns the API name with the request.
    pub(crate) fn login(
        &self,
        http: &reqwest::Client,
        bk_token: &SecretString,
    ) -> Result<(&'static str, reqwest::Request), BkError> {
        let (api, builder) = match self.transport {
            Transport::Esb => {
                let api = "get_user";
                let url = self.url(
                    api,
                    &format!("{}/api/c/compapi/v2/bk_login/get_user/", self.esb_url),
                )?;
                let body = json!({
                    "bk_app_code": self.app_code,
                    "bk_app_secret": self.app_secret.expose_secret(),
                    "bk_token": bk_token.expose_secret(),
                });
                (api, http.post(url).json(&body))
            }
            Transport::Apigw => {
                let api = "get_bk_token_userinfo";
                let mut url = self.url(
                    api,
                    &format!(
                        "{}/api/{}/{}/login/api/v3/open/bk-tokens/userinfo/",
                        self.apigw_url, self.gateway_login, self.stage
                    ),
                )?;
                url.query_pairs_mut()
                    .append_pair("bk_token", bk_token.expose_secret());
                let auth = json!({
                    "bk_app_code": self.app_code,
                    "bk_app_secret": self.app_secret.expose_secret(),
                })
                .to_string();
                let mut auth = HeaderValue::from_str(&auth).map_err(|_| BkError::Request {
                    api,
                    reason: "the app code cannot travel in a header".to_owned(),
                })?;
                auth.set_sensitive(true);
                (api, http.get(url).header("X-Bkapi-Authorization", auth))
            }
        };
        let request = builder
            .header(http::header::ACCEPT, "application/json")
            .header("Blueking-Language", LANGUAGE)
            .build()
            .map_err(|e| BkError::Request {
                api,
                reason: e.to_string(),
            })?;
        Ok((api, request))
    }

    fn url(&self, api: &'static str, raw: &str) -> Result<Url, BkError> {
        Url::parse(raw).map_err(|e| BkError::Request {
            api,
            reason: format!("bad url: {e}"),
        })
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
