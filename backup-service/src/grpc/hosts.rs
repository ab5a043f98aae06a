//! The check SearchFiles and StartBackup make before anything is stored or run: the business
//! exists, the caller may see it, and every requested host is in it (CMDB, through
//! job-gateway). An unknown host, or a host of another business, is INVALID_ARGUMENT naming
//! the ids; BlueKing's refusal of the business itself is passed on (PERMISSION_DENIED,
//! NOT_FOUND).

use super::BackupApi;
use crate::error::{BackupError, Result};

/// Most host ids a refusal lists before it says how many more there are.
const LISTED_IDS: usize = 20;

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
}

/// The refusal's text: the first ids not in the business, and how many more.
pub(super) fn not_in_business(bk_biz_id: i64, missing: &[i64]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
