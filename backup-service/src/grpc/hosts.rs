//! The check SearchFiles and StartBackup make before anything is stored or run: the business
//! exists, the caller may see it, and every requested host is in it (CMDB, through
//! job-gateway). An unknown host, or a host of another business, is INVALID_ARGUMENT naming
//! the ids; BlueKing's refusal of the business itself is passed on (PERMISSION_DENIED,
//! NOT_FOUND). A host selector is resolved instead (`crate::selector`), which proves the same.

use super::BackupApi;
use crate::error::{BackupError, Result};
use crate::selector::{self, HostSelector, not_in_business};

impl BackupApi {
    /// Refuses `hosts` unless every one of them is in business `bk_biz_id`.
    pub(super) async fn check_hosts(
        &self,
        bk_biz_id: i64,
        hosts: &[i64],
        operator: &str,
    ) -> Result<()> {
        let known = self
            .gateway
            .hosts_in_business(bk_biz_id, hosts, operator)
            .await?;
        let missing: Vec<i64> = hosts
            .iter()
            .copied()
            .filter(|h| !known.contains(h))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(BackupError::invalid(
            "bk_host_ids",
            not_in_business(bk_biz_id, &missing),
        ))
    }

    /// The hosts `sel` selects in business `bk_biz_id` now, within the server's host limit.
    pub(super) async fn resolve(
        &self,
        bk_biz_id: i64,
        sel: &HostSelector,
        operator: &str,
    ) -> Result<Vec<i64>> {
        selector::resolve(
            &self.gateway,
            bk_biz_id,
            sel,
            self.limits.max_hosts,
            operator,
        )
        .await
    }
}
