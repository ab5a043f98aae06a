//! CMDB calls of [`BkClient`]: businesses and hosts (the topology tree is `cmdb_topo`). All
//! are reads.
//!
//! On the gateway the ids travel in the path (`/api/v3/hosts/app/{bk_biz_id}/list_hosts`) and
//! body copies are dropped; on ESB the same ids go in the body, where ESB takes them from.
//! Pages are capped at 500 (docs/blueking.md, "Limits"), the strictest limit across these APIs.

use super::operator::Operator;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::client::BkClient;
use super::cmdb_types::{Business, Host, HostProperty, HostWithTopo, Listing};
use super::error::{BkError, BkResult};
use super::job::required;
use super::transport::{ApiCall, Effect, System};

/// The largest page this client asks CMDB for.
pub const MAX_CMDB_PAGE: i64 = 500;

/// CMDB `page`: offset, limit (1–500) and optional sort.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CmdbPage {
    /// Offset.
    pub start: i64,
    /// Page size, 1–500.
    pub limit: i64,
    /// Sort, e.g. `bk_host_id`.
    pub sort: Option<String>,
}

impl CmdbPage {
    fn to_json(&self, api: &'static str) -> BkResult<Value> {
        if self.start < 0 || !(1..=MAX_CMDB_PAGE).contains(&self.limit) {
            return Err(BkError::Invalid {
                api,
                field: "page",
                reason: "start must not be negative and limit must be 1 to 500".to_owned(),
            });
        }
        let mut m = Map::new();
        m.insert("start".to_owned(), json!(self.start));
        m.insert("limit".to_owned(), json!(self.limit));
        if let Some(sort) = &self.sort {
            m.insert("sort".to_owned(), json!(sort));
        }
        Ok(Value::Object(m))
    }
}

/// Input of search_business. `condition` and `biz_property_filter` exclude each other.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchBusiness {
    /// Projection; empty = all fields.
    pub fields: Vec<String>,
    /// Legacy Mongo-style condition, e.g. `{"bk_biz_name": "game"}`.
    pub condition: Option<Value>,
    /// QueryBuilder filter (`{condition, rules}`).
    pub biz_property_filter: Option<Value>,
    /// Page.
    pub page: CmdbPage,
}

/// Input of list_biz_hosts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListBizHosts {
    /// Host fields to return.
    pub fields: Vec<String>,
    /// Page.
    pub page: CmdbPage,
    /// Only these sets (≤200).
    pub bk_set_ids: Vec<i64>,
    /// Only these modules (≤500).
    pub bk_module_ids: Vec<i64>,
    /// QueryBuilder host filter (`{condition, rules}`).
    pub host_property_filter: Option<Value>,
}

/// Input of list_biz_hosts_topo.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListBizHostsTopo {
    /// Host fields to return (`bk_host_id` is always added by CMDB).
    pub fields: Vec<String>,
    /// Page.
    pub page: CmdbPage,
    /// QueryBuilder set filter.
    pub set_property_filter: Option<Value>,
    /// QueryBuilder module filter.
    pub module_property_filter: Option<Value>,
    /// QueryBuilder host filter.
    pub host_property_filter: Option<Value>,
}

pub(super) fn cmdb_call(api: &'static str, path: String, params: Map<String, Value>) -> ApiCall {
    ApiCall::new(System::Cmdb, api, Effect::Read, path, params)
}

fn put_filter(m: &mut Map<String, Value>, key: &str, v: &Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v.clone());
    }
}

fn check_len(api: &'static str, field: &'static str, len: usize, max: usize) -> BkResult<()> {
    if len > max {
        return Err(BkError::Invalid {
            api,
            field,
            reason: format!("at most {max} ids"),
        });
    }
    Ok(())
}

impl BkClient {
    pub(super) async fn cmdb<T: DeserializeOwned>(
        &self,
        call: ApiCall,
        operator: &Operator,
    ) -> BkResult<T> {
        let api = call.api;
        required(api, self.call(call, operator).await?)
    }

    /// Businesses the operator can see (`search_business`).
    pub async fn search_business(
        &self,
        operator: &Operator,
        req: &SearchBusiness,
    ) -> BkResult<Listing<Business>> {
        const API: &str = "search_business";
        if req.condition.is_some() && req.biz_property_filter.is_some() {
            return Err(BkError::Invalid {
                api: API,
                field: "condition",
                reason: "cannot be combined with biz_property_filter".to_owned(),
            });
        }
        let mut m = Map::new();
        m.insert("fields".to_owned(), json!(req.fields));
        put_filter(&mut m, "condition", &req.condition);
        put_filter(&mut m, "biz_property_filter", &req.biz_property_filter);
        m.insert("page".to_owned(), req.page.to_json(API)?);
        let call = cmdb_call(API, "/api/v3/biz/search/0".to_owned(), m);
        self.cmdb(call, operator).await
    }

    /// Hosts of a business (`list_biz_hosts`).
    pub async fn list_biz_hosts(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        req: &ListBizHosts,
    ) -> BkResult<Listing<Host>> {
        const API: &str = "list_biz_hosts";
        check_len(API, "bk_set_ids", req.bk_set_ids.len(), 200)?;
        check_len(API, "bk_module_ids", req.bk_module_ids.len(), 500)?;
        let mut m = Map::new();
        m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
        m.insert("fields".to_owned(), json!(req.fields));
        m.insert("page".to_owned(), req.page.to_json(API)?);
        if !req.bk_set_ids.is_empty() {
            m.insert("bk_set_ids".to_owned(), json!(req.bk_set_ids));
        }
        if !req.bk_module_ids.is_empty() {
            m.insert("bk_module_ids".to_owned(), json!(req.bk_module_ids));
        }
        put_filter(&mut m, "host_property_filter", &req.host_property_filter);
        let call = cmdb_call(API, format!("/api/v3/hosts/app/{bk_biz_id}/list_hosts"), m)
            .path_params(&["bk_biz_id"])
            .biz(Some(bk_biz_id));
        self.cmdb(call, operator).await
    }

    /// Hosts of a business with their sets and modules (`list_biz_hosts_topo`).
    pub async fn list_biz_hosts_topo(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        req: &ListBizHostsTopo,
    ) -> BkResult<Listing<HostWithTopo>> {
        const API: &str = "list_biz_hosts_topo";
        let mut m = Map::new();
        m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
        m.insert("fields".to_owned(), json!(req.fields));
        m.insert("page".to_owned(), req.page.to_json(API)?);
        put_filter(&mut m, "set_property_filter", &req.set_property_filter);
        put_filter(
            &mut m,
            "module_property_filter",
            &req.module_property_filter,
        );
        put_filter(&mut m, "host_property_filter", &req.host_property_filter);
        let call = cmdb_call(
            API,
            format!("/api/v3/hosts/app/{bk_biz_id}/list_hosts_topo"),
            m,
        )
        .path_params(&["bk_biz_id"])
        .biz(Some(bk_biz_id));
        self.cmdb(call, operator).await
    }

    /// Hosts under a topology node (`find_host_by_topo`), ascending `bk_host_id`.
    pub async fn find_host_by_topo(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        bk_obj_id: &str,
        bk_inst_id: i64,
        fields: &[String],
        page: &CmdbPage,
    ) -> BkResult<Listing<Host>> {
        const API: &str = "find_host_by_topo";
        let mut m = Map::new();
        m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
        m.insert("bk_obj_id".to_owned(), json!(bk_obj_id));
        m.insert("bk_inst_id".to_owned(), json!(bk_inst_id));
        m.insert("fields".to_owned(), json!(fields));
        m.insert("page".to_owned(), page.to_json(API)?);
        let call = cmdb_call(
            API,
            format!("/api/v3/findmany/hosts/by_topo/biz/{bk_biz_id}"),
            m,
        )
        .path_params(&["bk_biz_id"])
        .biz(Some(bk_biz_id));
        self.cmdb(call, operator).await
    }

    /// Hosts across businesses (`list_hosts_without_biz`; CMDB ignores any business filter).
    pub async fn list_hosts_without_biz(
        &self,
        operator: &Operator,
        fields: &[String],
        host_property_filter: Option<Value>,
        page: &CmdbPage,
    ) -> BkResult<Listing<Host>> {
        const API: &str = "list_hosts_without_biz";
        let mut m = Map::new();
        m.insert("fields".to_owned(), json!(fields));
        m.insert("page".to_owned(), page.to_json(API)?);
        put_filter(&mut m, "host_property_filter", &host_property_filter);
        let call = cmdb_call(API, "/api/v3/hosts/list_hosts_without_app".to_owned(), m);
        self.cmdb(call, operator).await
    }

    /// Every attribute of one host (`get_host_base_info`); GET without a body on the gateway.
    pub async fn get_host_base_info(
        &self,
        operator: &Operator,
        bk_host_id: i64,
    ) -> BkResult<Vec<HostProperty>> {
        const API: &str = "get_host_base_info";
        let mut m = Map::new();
        m.insert("bk_host_id".to_owned(), json!(bk_host_id));
        let call = cmdb_call(API, format!("/api/v3/hosts/0/{bk_host_id}"), m)
            .path_params(&["bk_host_id"])
            .gateway_get();
        self.cmdb(call, operator).await
    }
}
