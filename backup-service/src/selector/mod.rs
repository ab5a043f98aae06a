//! The host selector of SearchFiles and StartBackup (and, later, of schedules): which hosts of a
//! business to act on, as host ids, `cloud:ip`s, sets, modules or the whole business.
//!
//! [`HostSelector`] is built once from the proto and cannot hold bad input: positive ids,
//! parsed addresses, lists within their bounds, each list sorted and without duplicates, so
//! two selectors that select the same way compare equal (a request id replay compares them).
//! It is stored with the backup as JSON and rebuilt from it unchanged. Resolving it against
//! CMDB is [`resolve`]'s job (`resolve.rs`): the union of what every field selects.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use proto::backup::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::error::{BackupError, Result};

mod resolve;

pub use resolve::{not_in_business, resolve};

/// Most set or module ids in one selector.
pub const MAX_TOPOLOGY_IDS: usize = 500;

/// A host by control area and inner address, as JOB and GSE write it: `<bk_cloud_id>:<ip>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CloudIp {
    /// Control area (BK-Net) id; 0 is the default area.
    pub bk_cloud_id: i64,
    /// Inner IPv4 or IPv6 address.
    pub ip: IpAddr,
}

impl std::str::FromStr for CloudIp {
    type Err = ();

    /// `0:10.0.1.11`, `2:fd00::11`: the area is the text before the first `:`, digits only.
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let (cloud, ip) = s.split_once(':').ok_or(())?;
        if cloud.is_empty() || !cloud.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        Ok(Self {
            bk_cloud_id: cloud.parse().map_err(|_| ())?,
            ip: ip.parse().map_err(|_| ())?,
        })
    }
}

impl fmt::Display for CloudIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bk_cloud_id, self.ip)
    }
}

/// A validated host selector: at least one field set, `all_hosts` alone. Stored as JSON; a
/// field left out of the JSON reads as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostSelector {
    /// Host ids, ascending, each once.
    pub bk_host_ids: Vec<i64>,
    /// Hosts by area and address, ascending, each once.
    pub cloud_ips: Vec<CloudIp>,
    /// Sets, ascending, each once.
    pub bk_set_ids: Vec<i64>,
    /// Modules, ascending, each once.
    pub bk_module_ids: Vec<i64>,
    /// Every host of the business.
    pub all_hosts: bool,
}

impl HostSelector {
    /// Validates `sel`; `max_hosts` (the server's host limit) bounds the id and address lists.
    pub fn new(sel: pb::HostSelector, max_hosts: usize) -> Result<Self> {
        let pb::HostSelector {
            bk_host_ids,
            cloud_ips,
            bk_set_ids,
            bk_module_ids,
            all_hosts,
        } = sel;
        let any_list = !(bk_host_ids.is_empty()
            && cloud_ips.is_empty()
            && bk_set_ids.is_empty()
            && bk_module_ids.is_empty());
        if all_hosts && any_list {
            return Err(BackupError::invalid(
                "selector.all_hosts",
                "all_hosts already selects every host: give it alone",
            ));
        }
        if !all_hosts && !any_list {
            return Err(BackupError::invalid(
                "selector",
                "selects nothing: set bk_host_ids, cloud_ips, bk_set_ids, bk_module_ids or all_hosts",
            ));
        }
        bounded("selector.cloud_ips", cloud_ips.len(), max_hosts)?;
        let mut parsed = BTreeSet::new();
        for (i, text) in cloud_ips.iter().enumerate() {
            let ip = text.parse::<CloudIp>().map_err(|()| {
                BackupError::invalid(
                    format!("selector.cloud_ips[{i}]"),
                    format!("{text:?} is not cloud:ip (e.g. \"0:10.0.1.11\")"),
                )
            })?;
            parsed.insert(ip);
        }
        Ok(Self {
            bk_host_ids: ids("selector.bk_host_ids", bk_host_ids, max_hosts)?,
            cloud_ips: parsed.into_iter().collect(),
            bk_set_ids: ids("selector.bk_set_ids", bk_set_ids, MAX_TOPOLOGY_IDS)?,
            bk_module_ids: ids("selector.bk_module_ids", bk_module_ids, MAX_TOPOLOGY_IDS)?,
            all_hosts,
        })
    }
}

fn bounded(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(BackupError::invalid(
            field,
            format!("at most {max} entries, got {len}"),
        ));
    }
    Ok(())
}

/// Positive ids, at most `max`, ascending and each once.
fn ids(field: &str, list: Vec<i64>, max: usize) -> Result<Vec<i64>> {
    bounded(field, list.len(), max)?;
    if let Some(i) = list.iter().position(|id| *id <= 0) {
        return Err(BackupError::invalid(
            format!("{field}[{i}]"),
            "must be positive",
        ));
    }
    Ok(list
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sel: pb::HostSelector) -> (String, String) {
        match HostSelector::new(sel, 1000) {
            Err(BackupError::InvalidArgument { field, reason }) => (field, reason),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    fn cloud_ips(list: &[&str]) -> pb::HostSelector {
        pb::HostSelector {
            cloud_ips: list.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cloud_ips_parse_in_both_address_families_and_anything_else_is_refused_by_position() {
        let ok = HostSelector::new(cloud_ips(&["0:10.0.1.11", "2:fd00::11"]), 10).unwrap();
        assert_eq!(
            ok.cloud_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["0:10.0.1.11", "2:fd00::11"]
        );
        for (i, bad) in [
            "abc",
            "10.0.1.11",
            ":10.0.1.11",
            "-1:10.0.1.11",
            "0:",
            "0:10.0.1",
            "0:10.0.1.11:22",
            "x:10.0.1.11",
            " 0:10.0.1.11",
            "99999999999999999999:10.0.1.11",
        ]
        .into_iter()
        .enumerate()
        {
            let mut list = vec!["0:10.0.1.11"; i];
            list.push(bad);
            let (field, reason) = refusal(cloud_ips(&list));
            assert_eq!(field, format!("selector.cloud_ips[{i}]"), "{bad}");
            assert_eq!(
                reason,
                format!("{bad:?} is not cloud:ip (e.g. \"0:10.0.1.11\")")
            );
        }
    }

    #[test]
    fn an_empty_selector_and_all_hosts_with_another_field_are_refused() {
        assert_eq!(refusal(pb::HostSelector::default()).0, "selector");
        let (field, _) = refusal(pb::HostSelector {
            all_hosts: true,
            bk_module_ids: vec![3001],
            ..Default::default()
        });
        assert_eq!(field, "selector.all_hosts");
        let all = pb::HostSelector {
            all_hosts: true,
            ..Default::default()
        };
        assert!(HostSelector::new(all, 1).unwrap().all_hosts);
    }

    #[test]
    fn ids_must_be_positive_and_lists_within_their_bounds() {
        let (field, reason) = refusal(pb::HostSelector {
            bk_set_ids: vec![301, 0],
            ..Default::default()
        });
        assert_eq!(
            (field.as_str(), reason.as_str()),
            ("selector.bk_set_ids[1]", "must be positive")
        );
        let (field, _) = refusal(pb::HostSelector {
            bk_module_ids: (1..=501).collect(),
            ..Default::default()
        });
        assert_eq!(field, "selector.bk_module_ids");
        let too_many = pb::HostSelector {
            bk_host_ids: vec![1, 2, 3],
            ..Default::default()
        };
        match HostSelector::new(too_many, 2) {
            Err(BackupError::InvalidArgument { field, reason }) => {
                assert_eq!(field, "selector.bk_host_ids");
                assert_eq!(reason, "at most 2 entries, got 3");
            }
            other => panic!("{other:?}"),
        }
        let addresses = cloud_ips(&["0:10.0.0.1", "0:10.0.0.2", "0:10.0.0.3"]);
        match HostSelector::new(addresses, 2) {
            Err(BackupError::InvalidArgument { field, reason }) => {
                assert_eq!(field, "selector.cloud_ips");
                assert_eq!(reason, "at most 2 entries, got 3");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn selectors_that_select_alike_are_equal_and_survive_their_stored_form() {
        let a = HostSelector::new(
            pb::HostSelector {
                bk_host_ids: vec![1002, 1001, 1002],
                cloud_ips: vec!["0:10.0.1.12".into(), "0:10.0.1.11".into()],
                bk_module_ids: vec![3002, 3001],
                ..Default::default()
            },
            10,
        )
        .unwrap();
        let b = HostSelector::new(
            pb::HostSelector {
                bk_host_ids: vec![1001, 1002],
                cloud_ips: vec![
                    "0:10.0.1.11".into(),
                    "0:10.0.1.12".into(),
                    "0:10.0.1.11".into(),
                ],
                bk_module_ids: vec![3001, 3002],
                ..Default::default()
            },
            10,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.bk_host_ids, [1001, 1002]);
        let stored = serde_json::to_value(&a).unwrap();
        assert_eq!(serde_json::from_value::<HostSelector>(stored).unwrap(), a);
    }
}
