//! What BlueKing lets a user see, asked as that user through job-gateway: whether one business
//! is open to them (a one-host ListHosts page: CMDB answers IAM's 9900403, which job-gateway
//! turns into PERMISSION_DENIED carrying the permission to apply for and its apply URL), and
//! which businesses they may see at all (CMDB `search_business` lists only those).

use proto::jobgateway::v1 as pb;
use tonic::Status;

use super::Gateway;

/// ListBusinesses' largest page.
const PAGE: i32 = 500;

impl Gateway {
    /// Ok when `operator` may read business `bk_biz_id`; BlueKing's refusal as job-gateway
    /// mapped it otherwise (PERMISSION_DENIED with the apply URL, NOT_FOUND for a business
    /// that does not exist).
    pub async fn probe_business(&self, bk_biz_id: i64, operator: &str) -> Result<(), Status> {
        let req = pb::ListHostsRequest {
            bk_biz_id,
            page_size: 1,
            ..Default::default()
        };
        self.cmdb
            .clone()
            .list_hosts(self.request(req, operator)?)
            .await?;
        Ok(())
    }

    /// Every business `operator` may see (archived ones included), ascending.
    pub async fn businesses_of(&self, operator: &str) -> Result<Vec<i64>, Status> {
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let req = pb::ListBusinessesRequest {
                page_size: PAGE,
                page_token,
                include_archived: true,
                ..Default::default()
            };
            let resp = self
                .cmdb
                .clone()
                .list_businesses(self.request(req, operator)?)
                .await?
                .into_inner();
            ids.extend(resp.businesses.iter().map(|b| b.bk_biz_id));
            if resp.next_page_token.is_empty() {
                break;
            }
            page_token = resp.next_page_token;
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}
