//! WatchJobInstance over the shared [`WatchHub`](crate::watch::WatchHub).
//!
//! Pollers are keyed by (scope, instance, operator), so all watchers of one instance under one
//! BlueKing user share one upstream poller. A poller always fetches host results, so watchers
//! that did and did not ask for them can share it; those that did not get them stripped.
//! The first snapshot is awaited before the call answers, so an unknown instance or a
//! permission denial is the call's status rather than a stream's first message.

use std::time::SystemTime;

use proto::jobgateway::v1 as pb;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};

use super::convert::{self, InstanceRef};
use super::job::{JobApi, WatchJobInstanceStream};
use super::{operator, status};
use crate::bk;
use crate::watch::FetchFuture;

/// Which poller a watcher joins.
pub type WatchKey = (bk::Scope, i64, String);

/// One status reading; equal when the status is, whenever it was observed.
#[derive(Debug, Clone)]
pub struct WatchSnapshot {
    status: pb::GetJobInstanceStatusResponse,
    observed: SystemTime,
}

impl PartialEq for WatchSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
    }
}

fn finished(s: &WatchSnapshot) -> bool {
    s.status.job_instance.as_ref().is_some_and(|j| j.finished)
}

fn message(s: WatchSnapshot, with_hosts: bool) -> pb::WatchJobInstanceResponse {
    let mut steps = s.status.steps;
    if !with_hosts {
        for step in &mut steps {
            step.host_results.clear();
        }
    }
    pb::WatchJobInstanceResponse {
        job_instance: s.status.job_instance,
        steps,
        observe_time: Some(s.observed.into()),
    }
}

impl JobApi {
    pub(super) async fn watch(
        &self,
        request: Request<pb::WatchJobInstanceRequest>,
    ) -> Result<WatchJobInstanceStream, Status> {
        let bk = self.shared.bk.clone();
        let op = operator(&self.shared, &request).await?;
        let (at, with_hosts) = convert::watch_query(request.into_inner()).map_err(status)?;
        let key: WatchKey = (at.scope, at.job_instance_id, op.name().to_owned());
        let fetch = move || -> FetchFuture<WatchSnapshot> {
            let (bk, op, at): (bk::BkClient, bk::Operator, InstanceRef) =
                (bk.clone(), op.clone(), at);
            Box::pin(async move {
                let s = bk
                    .get_job_instance_status(&op, &at.scope, at.job_instance_id, true)
                    .await
                    .map_err(status)?;
                Ok(WatchSnapshot {
                    status: convert::job_status(&bk, &at, s, true),
                    observed: SystemTime::now(),
                })
            })
        };
        let mut rx = self
            .shared
            .hub
            .watch(key, fetch, finished, self.shared.bounds);
        let first = match rx.recv().await {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(e),
            None => return Err(Status::unavailable("the job status poller stopped")),
        };
        let stream = tokio_stream::once(Ok(first))
            .chain(ReceiverStream::new(rx))
            .map(move |r| r.map(|s| message(s, with_hosts)));
        Ok(Box::pin(stream))
    }
}
