//! Choosing hosts on the command line: `--hosts` takes ids, `ip`, `cloud:ip` and host names;
//! `--set` / `--module` take names (a module also as `set/module`) or ids. Names are resolved
//! through HostService (as the caller); the result is the `HostSelector` the API takes, so the
//! server resolves sets, modules and addresses itself when the call is made.

use std::net::IpAddr;

use proto::backup::v1 as pb;

use crate::cli::HostChoice;
use crate::client::Clients;
use crate::error::CliError;

/// One `--hosts` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostArg {
    /// A CMDB host id.
    Id(i64),
    /// An inner address in a control area (`0` when given as a bare IP).
    CloudIp(i64, IpAddr),
    /// A host name, resolved through HostService.
    Name(String),
}

impl HostArg {
    /// Parses one value: digits are an id, an address (optionally `cloud:` first) is an
    /// address, anything else a host name. An IPv6 address whose first group is decimal
    /// digits reads as `cloud:ip`; give it with its area (`0:2001:db8::1`).
    pub fn parse(text: &str) -> Result<Self, CliError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(CliError::Usage("--hosts: an empty host".to_owned()));
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(Self::Id)
                .map_err(|_| CliError::Usage(format!("--hosts: `{text}` is too large an id")));
        }
        // `cloud:ip` first: `0:fd00::11` is also an IPv6 address, but means area 0.
        if let Some((cloud, ip)) = text.split_once(':')
            && let (Ok(cloud), Ok(ip)) = (cloud.parse::<u32>(), ip.parse::<IpAddr>())
        {
            return Ok(Self::CloudIp(i64::from(cloud), ip));
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::CloudIp(0, ip));
        }
        Ok(Self::Name(text.to_owned()))
    }
}

/// One `--set` or `--module` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopoArg {
    /// An id.
    Id(i64),
    /// A name; for a module optionally `set/module`.
    Name { set: Option<String>, name: String },
}

impl TopoArg {
    /// Parses one value.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Ok(id) = text.parse::<i64>() {
            return Self::Id(id);
        }
        match text.split_once('/') {
            Some((set, name)) => Self::Name {
                set: Some(set.to_owned()),
                name: name.to_owned(),
            },
            None => Self::Name {
                set: None,
                name: text.to_owned(),
            },
        }
    }
}

/// The set and module ids `sets` and `modules` name in `topo`.
pub fn topology_ids(
    topo: &pb::GetTopologyResponse,
    sets: &[TopoArg],
    modules: &[TopoArg],
) -> Result<(Vec<i64>, Vec<i64>), CliError> {
    let mut set_ids = Vec::new();
    for arg in sets {
        match arg {
            TopoArg::Id(id) => set_ids.push(*id),
            TopoArg::Name { name, .. } => {
                let found: Vec<i64> = topo
                    .sets
                    .iter()
                    .filter(|s| &s.bk_set_name == name)
                    .map(|s| s.bk_set_id)
                    .collect();
                if found.is_empty() {
                    return Err(CliError::Usage(format!("--set: no set named `{name}`")));
                }
                set_ids.extend(found);
            }
        }
    }
    let mut module_ids = Vec::new();
    for arg in modules {
        match arg {
            TopoArg::Id(id) => module_ids.push(*id),
            TopoArg::Name { set, name } => {
                let found: Vec<i64> = topo
                    .sets
                    .iter()
                    .filter(|s| set.as_ref().is_none_or(|n| &s.bk_set_name == n))
                    .flat_map(|s| &s.modules)
                    .filter(|m| &m.bk_module_name == name)
                    .map(|m| m.bk_module_id)
                    .collect();
                if found.is_empty() {
                    let shown = set.as_ref().map_or(name.clone(), |s| format!("{s}/{name}"));
                    return Err(CliError::Usage(format!(
                        "--module: no module named `{shown}`"
                    )));
                }
                module_ids.extend(found);
            }
        }
    }
    Ok((set_ids, module_ids))
}

fn has_names(args: &[TopoArg]) -> bool {
    args.iter().any(|a| matches!(a, TopoArg::Name { .. }))
}

/// Set and module ids of `--set` / `--module`, asking for the topology only when a name is given.
pub async fn set_module_ids(
    clients: &Clients,
    biz: i64,
    sets: &[String],
    modules: &[String],
) -> Result<(Vec<i64>, Vec<i64>), CliError> {
    let sets: Vec<TopoArg> = sets.iter().map(|s| TopoArg::parse(s)).collect();
    let modules: Vec<TopoArg> = modules.iter().map(|s| TopoArg::parse(s)).collect();
    let topo = if has_names(&sets) || has_names(&modules) {
        let req = pb::GetTopologyRequest {
            bk_biz_id: biz,
            include_idle_pool: true,
        };
        clients.hosts().get_topology(req).await?.into_inner()
    } else {
        pb::GetTopologyResponse::default()
    };
    topology_ids(&topo, &sets, &modules)
}

/// The selector of `choice` in business `biz`.
pub async fn selector(
    clients: &Clients,
    biz: i64,
    choice: &HostChoice,
) -> Result<pb::HostSelector, CliError> {
    if choice.hosts.is_empty()
        && choice.set.is_empty()
        && choice.module.is_empty()
        && !choice.all_hosts
    {
        return Err(CliError::Usage(
            "choose hosts: --hosts, --set, --module or --all-hosts".to_owned(),
        ));
    }
    let mut sel = pb::HostSelector {
        all_hosts: choice.all_hosts,
        ..Default::default()
    };
    for text in &choice.hosts {
        match HostArg::parse(text)? {
            HostArg::Id(id) => sel.bk_host_ids.push(id),
            HostArg::CloudIp(cloud, ip) => sel.cloud_ips.push(format!("{cloud}:{ip}")),
            HostArg::Name(name) => sel.bk_host_ids.extend(by_name(clients, biz, &name).await?),
        }
    }
    let (sets, modules) = set_module_ids(clients, biz, &choice.set, &choice.module).await?;
    sel.bk_set_ids = sets;
    sel.bk_module_ids = modules;
    Ok(sel)
}

/// The hosts of `biz` named exactly `name`.
async fn by_name(clients: &Clients, biz: i64, name: &str) -> Result<Vec<i64>, CliError> {
    let req = pb::ListHostsRequest {
        bk_biz_id: biz,
        host_name_contains: name.to_owned(),
        page_size: 500,
        ..Default::default()
    };
    let listed = clients.hosts().list_hosts(req).await?.into_inner();
    let ids: Vec<i64> = listed
        .hosts
        .iter()
        .filter(|h| h.bk_host_name == name)
        .map(|h| h.bk_host_id)
        .collect();
    if ids.is_empty() {
        return Err(CliError::Usage(format!(
            "--hosts: no host named `{name}` in business {biz}"
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_is_an_id_an_address_a_cloud_address_or_a_name() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(HostArg::parse("1001").unwrap(), HostArg::Id(1001));
        assert_eq!(
            HostArg::parse("10.0.1.11").unwrap(),
            HostArg::CloudIp(0, ip("10.0.1.11"))
        );
        assert_eq!(
            HostArg::parse("2:10.0.1.11").unwrap(),
            HostArg::CloudIp(2, ip("10.0.1.11"))
        );
        assert_eq!(
            HostArg::parse("fd00::11").unwrap(),
            HostArg::CloudIp(0, ip("fd00::11"))
        );
        assert_eq!(
            HostArg::parse("0:fd00::11").unwrap(),
            HostArg::CloudIp(0, ip("fd00::11"))
        );
        assert_eq!(
            HostArg::parse(" gs1-game-01 ").unwrap(),
            HostArg::Name("gs1-game-01".into())
        );
        assert!(HostArg::parse("").is_err());
        assert!(HostArg::parse("99999999999999999999").is_err());
    }

    #[test]
    fn set_and_module_names_resolve_in_the_topology_and_an_unknown_one_is_a_usage_error() {
        let module = |id, name: &str| pb::TopologyModule {
            bk_module_id: id,
            bk_module_name: name.into(),
            host_count: 0,
        };
        let set = |id, name: &str, modules| pb::TopologySet {
            bk_set_id: id,
            bk_set_name: name.into(),
            modules,
            ..Default::default()
        };
        let topo = pb::GetTopologyResponse {
            sets: vec![
                set(
                    301,
                    "zone-1",
                    vec![module(3001, "gamesvr"), module(3002, "gateway")],
                ),
                set(302, "zone-2", vec![module(3003, "gamesvr")]),
            ],
            ..Default::default()
        };
        let args = |v: &[&str]| v.iter().map(|s| TopoArg::parse(s)).collect::<Vec<_>>();
        let (sets, modules) =
            topology_ids(&topo, &args(&["zone-2", "7"]), &args(&["gamesvr"])).unwrap();
        assert_eq!((sets, modules), (vec![302, 7], vec![3001, 3003]));
        let (_, one) = topology_ids(&topo, &[], &args(&["zone-1/gamesvr"])).unwrap();
        assert_eq!(one, [3001]);
        let err = topology_ids(&topo, &[], &args(&["zone-2/gateway"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--module: no module named `zone-2/gateway`"
        );
        assert_eq!(err.exit_code(), 2);
        assert!(topology_ids(&topo, &args(&["nope"]), &[]).is_err());
    }
}
