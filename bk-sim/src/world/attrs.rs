//! The CMDB attributes of a host, precomputed once with CMDB's raw value types.

use serde_json::{Map, Value, json};

use super::model::HostDef;

/// The CMDB attribute set of a host, in attribute order, with CMDB's raw value types.
pub(super) fn cmdb_attributes(h: &HostDef) -> Map<String, Value> {
    let v = json!({
        "bk_host_id": h.id,
        "bk_host_name": h.name,
        "bk_host_innerip": h.ip,
        "bk_host_outerip": "",
        "bk_host_innerip_v6": "",
        "bk_cloud_id": h.cloud_id,
        "bk_os_type": h.os_type,
        "bk_os_name": h.os_name,
        "bk_os_version": "7.9",
        "bk_os_bit": "64-bit",
        "bk_agent_id": h.agent_id,
        "bk_addressing": "static",
        "operator": "",
        "bk_bak_operator": "",
        "bk_cpu": 8,
        "bk_mem": 16384,
        "bk_disk": 500,
        "bk_mac": format!("52:54:00:{:02x}:{:02x}:{:02x}", (h.id >> 16) & 0xff, (h.id >> 8) & 0xff, h.id & 0xff),
        "bk_state_name": "CN",
        "bk_isp_name": "0",
        "bk_sla": null,
        "bk_comment": "",
        "import_from": "3",
        "create_time": "2026-01-05T08:00:00Z",
        "last_time": "2026-01-05T08:00:00Z",
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}
