//! Resolves a [`HostSelector`] against CMDB (job-gateway's ListHosts, as the caller) into the
//! hosts a search or backup runs on: ascending ids, each once, every one in the business. Any
//! caller with a [`Gateway`] resolves the same way (StartBackup and SearchFiles now; each fire
//! of a schedule later).
//!
//! The decision a reader must know: a selector's hosts are the union of one ListHosts query
//! per kind (ListHosts ANDs its filters, so they cannot share a query). CMDB's answer is the
//! proof that each host is in the business, so no second membership check follows. Unknown
//! host ids, `cloud:ip`s matching nothing and set or module ids outside the business's
//! topology are INVALID_ARGUMENT naming them; a union past the host limit is refused as soon
//! as it is seen, without reading the rest; an empty union is FAILED_PRECONDITION.

use std::collections::BTreeSet;

use proto::jobgateway::v1 as gw;

use super::{CloudIp, HostSelector};
use crate::error::{BackupError, Result};
use crate::gateway::Gateway;

/// Ids or addresses per ListHosts filter (its documented maximum; 200 for sets).
const PER_QUERY: usize = 500;
const SETS_PER_QUERY: usize = 200;

/// The hosts found so far, refused once they exceed the host limit.
struct Union {
    hosts: BTreeSet<i64>,
    max: usize,
}

impl Union {
    fn add(&mut self, ids: impl IntoIterator<Item = i64>) -> Result<()> {
        self.hosts.extend(ids);
        if self.hosts.len() > self.max {
            return Err(BackupError::invalid(
                "selector",
                format!(
                    "selects more than {} hosts (the server's host limit)",
                    self.max
                ),
            ));
        }
        Ok(())
    }
}

/// The hosts `sel` selects in business `bk_biz_id` now, ascending; more than `max_hosts` is
/// refused.
pub async fn resolve(
    gateway: &Gateway,
    bk_biz_id: i64,
    sel: &HostSelector,
    max_hosts: usize,
    operator: &str,
) -> Result<Vec<i64>> {
    let mut union = Union {
        hosts: BTreeSet::new(),
        max: max_hosts,
    };
    let base = gw::ListHostsRequest {
        bk_biz_id,
        ..Default::default()
    };
    if sel.all_hosts {
        let all = gateway
            .list_hosts(base.clone(), union.max, operator)
            .await?;
        union.add(all.iter().map(|h| h.bk_host_id))?;
    }
    if !sel.bk_set_ids.is_empty() || !sel.bk_module_ids.is_empty() {
        let topo = gateway.topology_ids(bk_biz_id, operator).await?;
        outside(
            bk_biz_id,
            "selector.bk_set_ids",
            &sel.bk_set_ids,
            &topo.sets,
            "set",
        )?;
        outside(
            bk_biz_id,
            "selector.bk_module_ids",
            &sel.bk_module_ids,
            &topo.modules,
            "module",
        )?;
    }
    union.add(by_host_ids(gateway, &base, &sel.bk_host_ids, operator).await?)?;
    union.add(by_cloud_ips(gateway, &base, &sel.cloud_ips, operator).await?)?;
    for chunk in sel.bk_set_ids.chunks(SETS_PER_QUERY) {
        let q = gw::ListHostsRequest {
            bk_set_ids: chunk.to_vec(),
            ..base.clone()
        };
        let hosts = gateway.list_hosts(q, union.max, operator).await?;
        union.add(hosts.iter().map(|h| h.bk_host_id))?;
    }
    for chunk in sel.bk_module_ids.chunks(PER_QUERY) {
        let q = gw::ListHostsRequest {
            bk_module_ids: chunk.to_vec(),
            ..base.clone()
        };
        let hosts = gateway.list_hosts(q, union.max, operator).await?;
        union.add(hosts.iter().map(|h| h.bk_host_id))?;
    }
    if union.hosts.is_empty() {
        return Err(BackupError::FailedPrecondition(format!(
            "the selector selects no host of business {bk_biz_id} now"
        )));
    }
    tracing::info!(
        bk_biz_id,
        hosts = union.hosts.len(),
        selector = ?sel,
        "host selector resolved"
    );
    Ok(union.hosts.into_iter().collect())
}

/// The hosts of `ids`, refusing those CMDB does not list in the business.
async fn by_host_ids(
    gateway: &Gateway,
    base: &gw::ListHostsRequest,
    ids: &[i64],
    operator: &str,
) -> Result<BTreeSet<i64>> {
    let mut found = BTreeSet::new();
    for chunk in ids.chunks(PER_QUERY) {
        let q = gw::ListHostsRequest {
            bk_host_ids: chunk.to_vec(),
            ..base.clone()
        };
        let hosts = gateway.list_hosts(q, usize::MAX, operator).await?;
        found.extend(hosts.iter().map(|h| h.bk_host_id));
    }
    let missing: Vec<i64> = ids.iter().copied().filter(|h| !found.contains(h)).collect();
    if !missing.is_empty() {
        return Err(BackupError::invalid(
            "selector.bk_host_ids",
            not_in_business(base.bk_biz_id, &missing),
        ));
    }
    Ok(found)
}

/// The hosts with `addresses`, refusing the addresses no host of the business has. ListHosts
/// matches addresses in any control area: the area is checked here, on every host listed.
async fn by_cloud_ips(
    gateway: &Gateway,
    base: &gw::ListHostsRequest,
    addresses: &[CloudIp],
    operator: &str,
) -> Result<BTreeSet<i64>> {
    let mut found = BTreeSet::new();
    let mut unmatched: Vec<String> = Vec::new();
    for chunk in addresses.chunks(PER_QUERY) {
        let ips: BTreeSet<String> = chunk.iter().map(|c| c.ip.to_string()).collect();
        let q = gw::ListHostsRequest {
            inner_ips: ips.into_iter().collect(),
            ..base.clone()
        };
        let hosts = gateway.list_hosts(q, usize::MAX, operator).await?;
        for c in chunk {
            let matching: Vec<i64> = hosts
                .iter()
                .filter(|h| has_address(h, c))
                .map(|h| h.bk_host_id)
                .collect();
            if matching.is_empty() {
                unmatched.push(c.to_string());
            }
            found.extend(matching);
        }
    }
    if !unmatched.is_empty() {
        return Err(BackupError::invalid(
            "selector.cloud_ips",
            format!(
                "match no host of business {}: {}",
                base.bk_biz_id,
                unmatched.join(", ")
            ),
        ));
    }
    Ok(found)
}

/// Most host ids a refusal lists before it says how many more there are.
const LISTED_IDS: usize = 20;

/// The text refusing hosts not in a business (a host list's or a selector's): the first ids,
/// and how many more.
pub fn not_in_business(bk_biz_id: i64, missing: &[i64]) -> String {
    let listed: Vec<String> = missing
        .iter()
        .take(LISTED_IDS)
        .map(ToString::to_string)
        .collect();
    let more = missing.len().saturating_sub(LISTED_IDS);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "not in business {bk_biz_id} (unknown to CMDB or in another business): {}{more}",
        listed.join(", ")
    )
}

/// Whether `host` is in `c`'s control area with `c`'s address among its inner ones.
fn has_address(host: &gw::Host, c: &CloudIp) -> bool {
    host.bk_cloud_id == c.bk_cloud_id
        && host
            .inner_ips
            .iter()
            .chain(&host.inner_ipv6s)
            .any(|a| a.parse::<std::net::IpAddr>().is_ok_and(|a| a == c.ip))
}

/// Refuses the `wanted` ids that are not in `known`, naming them.
fn outside(
    bk_biz_id: i64,
    field: &str,
    wanted: &[i64],
    known: &BTreeSet<i64>,
    what: &str,
) -> Result<()> {
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|id| !known.contains(id))
        .map(ToString::to_string)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(BackupError::invalid(
        field,
        format!(
            "not a {what} of business {bk_biz_id}: {}",
            unknown.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_matches_only_in_its_own_control_area_and_in_either_family() {
        let host = gw::Host {
            bk_host_id: 7,
            bk_cloud_id: 2,
            inner_ips: vec!["10.0.0.7".into(), "10.0.1.7".into()],
            inner_ipv6s: vec!["fd00:0::7".into()],
            ..Default::default()
        };
        let c = |s: &str| s.parse::<CloudIp>().unwrap();
        assert!(has_address(&host, &c("2:10.0.1.7")));
        assert!(has_address(&host, &c("2:fd00::7")));
        assert!(!has_address(&host, &c("0:10.0.1.7")));
        assert!(!has_address(&host, &c("2:10.0.2.7")));
    }

    #[test]
    fn a_refusal_names_the_first_twenty_missing_hosts_and_counts_the_rest() {
        assert_eq!(
            not_in_business(3, &[2001, 9999]),
            "not in business 3 (unknown to CMDB or in another business): 2001, 9999"
        );
        let many: Vec<i64> = (1..=25).collect();
        let text = not_in_business(3, &many);
        assert!(text.ends_with("19, 20 and 5 more"), "{text}");
    }

    #[test]
    fn ids_outside_the_topology_are_named() {
        let known: BTreeSet<i64> = [3001, 3002].into();
        assert!(outside(3, "f", &[3001], &known, "module").is_ok());
        match outside(
            3,
            "selector.bk_module_ids",
            &[3001, 4001, 9],
            &known,
            "module",
        ) {
            Err(BackupError::InvalidArgument { field, reason }) => {
                assert_eq!(field, "selector.bk_module_ids");
                assert_eq!(reason, "not a module of business 3: 4001, 9");
            }
            other => panic!("{other:?}"),
        }
    }
}
