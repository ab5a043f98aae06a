//! The business topology tree (`search_biz_inst_topo`), with the idle pool on both front doors.
//!
//! The decision a reader must know: CMDB adds the idle-pool set and its modules to the tree
//! only when asked with the gateway's query parameter `with_default`, and ESB's
//! search_biz_inst_topo component forwards nothing but `bk_biz_id` and `level`, so over ESB
//! that request cannot be made. There the idle-pool sets come from `search_set` (sets whose
//! `default` is not 0) and their modules from `search_module`, and are appended to the
//! business node as CMDB would: after the normal sets, modules ordered by `default`
//! (docs/blueking.md, "CMDB: the topology tree").

use super::operator::Operator;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::BkClient;
use super::cmdb::cmdb_call;
use super::cmdb_types::{Listing, TopoNode};
use super::error::BkResult;
use super::transport::{ApiCall, System};
use crate::config::Transport;

/// Page size of the search_set / search_module calls that fetch the idle pool.
const IDLE_PAGE: i64 = 500;

/// A set as search_set returns it, the fields asked for.
#[derive(Debug, Deserialize)]
struct SetRow {
    bk_set_id: Option<i64>,
    bk_set_name: Option<String>,
    default: Option<i32>,
}

/// A module as search_module returns it, the fields asked for.
#[derive(Debug, Deserialize)]
struct ModuleRow {
    bk_module_id: Option<i64>,
    bk_module_name: Option<String>,
    default: Option<i32>,
}

impl BkClient {
    /// The full mainline topology of a business (`search_biz_inst_topo`), with the idle-pool
    /// set and its modules after the normal sets when `with_default`, on either front door.
    pub async fn search_biz_inst_topo(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        with_default: bool,
    ) -> BkResult<Vec<TopoNode>> {
        let over_esb = self.front_door(System::Cmdb) == Transport::Esb;
        let mut nodes = self
            .topo_tree(operator, bk_biz_id, with_default && !over_esb)
            .await?;
        if with_default && over_esb {
            let names = (obj_name(&nodes, "set"), obj_name(&nodes, "module"));
            let idle = self.idle_pool(operator, bk_biz_id, names).await?;
            if let Some(root) = nodes.iter_mut().find(|n| n.bk_inst_id == Some(bk_biz_id)) {
                root.child.get_or_insert_with(Vec::new).extend(idle);
            }
        }
        Ok(nodes)
    }

    async fn topo_tree(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        with_default: bool,
    ) -> BkResult<Vec<TopoNode>> {
        const API: &str = "search_biz_inst_topo";
        let mut m = Map::new();
        m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
        let mut call = cmdb_call(API, format!("/api/v3/find/topoinst/biz/{bk_biz_id}"), m)
            .path_params(&["bk_biz_id"])
            .biz(Some(bk_biz_id));
        if with_default {
            call.gateway_query.push(("with_default", "1".to_owned()));
        }
        self.cmdb(call, operator).await
    }

    /// The idle-pool sets of a business as tree nodes, each with its modules.
    async fn idle_pool(
        &self,
        operator: &Operator,
        bk_biz_id: i64,
        (set_name, module_name): (String, String),
    ) -> BkResult<Vec<TopoNode>> {
        let sets: Vec<SetRow> = self
            .every_page(operator, |page| {
                let mut m = Map::new();
                m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
                m.insert(
                    "fields".to_owned(),
                    json!(["bk_set_id", "bk_set_name", "default"]),
                );
                m.insert("condition".to_owned(), json!({"default": {"$ne": 0}}));
                m.insert("page".to_owned(), page);
                cmdb_call("search_set", format!("/api/v3/set/search/0/{bk_biz_id}"), m)
                    .path_params(&["bk_biz_id"])
                    .biz(Some(bk_biz_id))
            })
            .await?;
        let mut nodes = Vec::with_capacity(sets.len());
        for set in sets {
            let Some(set_id) = set.bk_set_id else {
                continue;
            };
            let mut modules: Vec<ModuleRow> = self
                .every_page(operator, |page| {
                    let mut m = Map::new();
                    m.insert("bk_biz_id".to_owned(), json!(bk_biz_id));
                    m.insert("bk_set_id".to_owned(), json!(set_id));
                    m.insert(
                        "fields".to_owned(),
                        json!(["bk_module_id", "bk_module_name", "default"]),
                    );
                    m.insert("page".to_owned(), page);
                    let path = format!("/api/v3/module/search/0/{bk_biz_id}/{set_id}");
                    cmdb_call("search_module", path, m)
                        .path_params(&["bk_biz_id", "bk_set_id"])
                        .biz(Some(bk_biz_id))
                })
                .await?;
            modules.sort_by_key(|m| m.default.unwrap_or_default());
            let child = modules
                .into_iter()
                .map(|m| TopoNode {
                    bk_inst_id: m.bk_module_id,
                    bk_inst_name: m.bk_module_name,
                    bk_obj_id: Some("module".to_owned()),
                    bk_obj_name: Some(module_name.clone()),
                    default: m.default,
                    child: Some(Vec::new()),
                })
                .collect();
            nodes.push(TopoNode {
                bk_inst_id: Some(set_id),
                bk_inst_name: set.bk_set_name,
                bk_obj_id: Some("set".to_owned()),
                bk_obj_name: Some(set_name.clone()),
                default: set.default,
                child: Some(child),
            });
        }
        Ok(nodes)
    }

    /// Every row of a `{count, info}` listing, page by page.
    async fn every_page<T: serde::de::DeserializeOwned>(
        &self,
        operator: &Operator,
        call: impl Fn(Value) -> ApiCall,
    ) -> BkResult<Vec<T>> {
        let mut rows = Vec::new();
        loop {
            let page = json!({"start": rows.len(), "limit": IDLE_PAGE});
            let listing: Listing<T> = self.cmdb(call(page), operator).await?;
            let info = listing.info.unwrap_or_default();
            let got = info.len();
            rows.extend(info);
            let total = listing.count.unwrap_or_default();
            if got == 0 || rows.len() as i64 >= total {
                return Ok(rows);
            }
        }
    }
}

/// The display name CMDB gave the `obj` level somewhere in `nodes`, else `obj` itself.
fn obj_name(nodes: &[TopoNode], obj: &str) -> String {
    fn find(nodes: &[TopoNode], obj: &str) -> Option<String> {
        nodes.iter().find_map(|n| {
            if n.bk_obj_id.as_deref() == Some(obj) {
                n.bk_obj_name.clone()
            } else {
                find(n.child.as_deref().unwrap_or_default(), obj)
            }
        })
    }
    find(nodes, obj).unwrap_or_else(|| obj.to_owned())
}
