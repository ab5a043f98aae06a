//! JobService lookups: job plans, the instance history and plan-execution variables.

use proto::jobgateway::v1 as pb;
use tonic::{Request, Status};

use super::convert;
use super::job::JobApi;
use super::{operator, status};

impl JobApi {
    pub(super) async fn plans(
        &self,
        request: Request<pb::ListJobPlansRequest>,
    ) -> Result<pb::ListJobPlansResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let (scope, query, page) =
            convert::plan_list_query(request.into_inner()).map_err(status)?;
        let listed = bk
            .get_job_plan_list(&op, &scope, &query)
            .await
            .map_err(status)?;
        let plans = listed.data.unwrap_or_default();
        let total = listed.total.unwrap_or(plans.len() as i64);
        Ok(pb::ListJobPlansResponse {
            next_page_token: page.next_token(plans.len(), total),
            job_plans: plans
                .into_iter()
                .map(|p| convert::plan_summary(bk, &scope, p))
                .collect(),
            total_size: total,
        })
    }

    pub(super) async fn plan_detail(
        &self,
        request: Request<pb::GetJobPlanRequest>,
    ) -> Result<pb::GetJobPlanResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let (scope, id) = convert::plan_ref(request.into_inner()).map_err(status)?;
        let plan = bk
            .get_job_plan_detail(&op, &scope, id)
            .await
            .map_err(status)?;
        Ok(pb::GetJobPlanResponse {
            job_plan: Some(convert::plan_detail(bk, &scope, plan)),
        })
    }

    pub(super) async fn instances(
        &self,
        request: Request<pb::ListJobInstancesRequest>,
    ) -> Result<pb::ListJobInstancesResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let (scope, query, page) =
            convert::instance_list_query(request.into_inner()).map_err(status)?;
        let listed = bk
            .get_job_instance_list(&op, &scope, &query)
            .await
            .map_err(status)?;
        let items = listed.data.unwrap_or_default();
        let total = listed.total.unwrap_or(items.len() as i64);
        Ok(pb::ListJobInstancesResponse {
            next_page_token: page.next_token(items.len(), total),
            job_instances: items
                .into_iter()
                .map(|j| convert::listed_instance(bk, &scope, j))
                .collect(),
            total_size: total,
        })
    }

    pub(super) async fn global_vars(
        &self,
        request: Request<pb::GetJobInstanceGlobalVarsRequest>,
    ) -> Result<pb::GetJobInstanceGlobalVarsResponse, Status> {
        let bk = &self.shared.bk;
        let op = operator(&self.shared, &request).await?;
        let at = convert::global_vars_query(request.into_inner()).map_err(status)?;
        let vars = bk
            .get_job_instance_global_var_value(&op, &at.scope, at.job_instance_id)
            .await
            .map_err(status)?;
        Ok(convert::global_vars(bk, &at, vars))
    }
}
