//! WatchJobInstance: one upstream poller per (scope, instance, operator) however many watch,
//! a watcher that leaves stops costing anything, and streams end at their lifetime bound.
//! Jobs are held running with bk-sim's `hang` host fault, then terminated.

mod common;

use std::time::Duration;

use common::{GAME_BIZ, Gateway, biz, gateway, req, script, sim};
use job_gateway::config::Transport;
use proto::jobgateway::v1 as pb;
use proto::jobgateway::v1::job_service_client::JobServiceClient;
use tonic::Code;

const WATCHERS: usize = 1000;
const CONNECTIONS: usize = 10;

fn watch(id: i64) -> pb::WatchJobInstanceRequest {
    pb::WatchJobInstanceRequest {
        scope: biz(GAME_BIZ),
        job_instance_id: id,
        with_host_results: false,
    }
}

async fn hanging_job(gw: &Gateway) -> i64 {
    let launched = gw
        .job()
        .await
        .execute_script(req(script("echo hi", &[103]), None))
        .await
        .unwrap();
    launched.into_inner().job_instance_id
}

async fn terminate_when_running(gw: &Gateway, id: i64) {
    let mut job = gw.job().await;
    let mut stream = job
        .watch_job_instance(req(watch(id), None))
        .await
        .unwrap()
        .into_inner();
    while let Some(m) = stream.message().await.unwrap() {
        if m.job_instance.unwrap().status() == pb::RunStatus::Running {
            break;
        }
    }
    let terminate = pb::TerminateJobInstanceRequest {
        scope: biz(GAME_BIZ),
        job_instance_id: id,
    };
    job.terminate_job_instance(req(terminate, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_thousand_watchers_of_one_instance_share_one_poller_making_one_status_call_per_tick() {
    let sim = sim().await;
    sim.host_fault(103, "hang").await;
    let mut settings = sim.settings(Transport::Apigw);
    settings.watch.initial_interval_ms = 50;
    settings.watch.max_interval_ms = 50;
    settings.watch.backoff_factor = 1.0;
    let gw = gateway(settings).await;
    let id = hanging_job(&gw).await;
    sim.clear_requests().await;

    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(JobServiceClient::new(gw.channel().await));
    }
    let (subscribed, mut all_subscribed) = tokio::sync::mpsc::channel::<()>(WATCHERS);
    let mut watchers = Vec::new();
    for n in 0..WATCHERS {
        let mut client = clients[n % CONNECTIONS].clone();
        let subscribed = subscribed.clone();
        watchers.push(tokio::spawn(async move {
            let mut stream = client
                .watch_job_instance(req(watch(id), None))
                .await
                .unwrap()
                .into_inner();
            let mut last = stream.message().await.unwrap().expect("a first snapshot");
            subscribed.send(()).await.unwrap();
            while let Some(m) = stream.message().await.unwrap() {
                last = m;
            }
            last.job_instance.unwrap()
        }));
    }
    for _ in 0..WATCHERS {
        all_subscribed.recv().await.unwrap();
    }
    assert_eq!(gw.metric("job_watch_watchers").await, WATCHERS as f64);
    assert_eq!(gw.metric("job_watch_pollers").await, 1.0);

    terminate_when_running(&gw, id).await;
    for w in watchers {
        let last = w.await.unwrap();
        assert_eq!(
            (last.status(), last.finished),
            (pb::RunStatus::Stopped, true)
        );
    }
    gw.wait_metric("job_watch_pollers", 0.0).await;
    gw.wait_metric("job_watch_watchers", 0.0).await;
    let polls = gw.metric("job_watch_polls_total").await as u64;
    // Every upstream status call came from the one poller (the terminating watcher above
    // joined it too): one call per tick, not one per watcher.
    assert_eq!(sim.count("get_job_instance_status").await, polls);
    assert!(
        polls < WATCHERS as u64 / 5,
        "{polls} polls for {WATCHERS} watchers"
    );
}

#[tokio::test]
async fn a_watcher_that_disconnects_stops_its_poller() {
    let sim = sim().await;
    sim.host_fault(103, "hang").await;
    let gw = gateway(sim.settings(Transport::Esb)).await;
    let id = hanging_job(&gw).await;
    let mut client = gw.job().await;
    let mut stream = client
        .watch_job_instance(req(watch(id), None))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some());
    assert_eq!(gw.metric("job_watch_pollers").await, 1.0);
    assert_eq!(gw.metric("job_watch_watchers").await, 1.0);
    drop(stream);
    gw.wait_metric("job_watch_watchers", 0.0).await;
    gw.wait_metric("job_watch_pollers", 0.0).await;
    let polls = gw.metric("job_watch_polls_total").await;
    assert_eq!(sim.count("get_job_instance_status").await as f64, polls);
    terminate_when_running(&gw, id).await;
}

#[tokio::test]
async fn a_watch_ends_with_deadline_exceeded_at_its_lifetime_bound() {
    let sim = sim().await;
    sim.host_fault(103, "hang").await;
    let mut settings = sim.settings(Transport::Apigw);
    settings.watch.max_lifetime_ms = 300;
    let gw = gateway(settings).await;
    let id = hanging_job(&gw).await;
    let mut stream = gw
        .job()
        .await
        .watch_job_instance(req(watch(id), None))
        .await
        .unwrap()
        .into_inner();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the stream ended OK before the job finished"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("the lifetime bound ends the stream");
    assert_eq!(ended.code(), Code::DeadlineExceeded, "{ended:?}");
    assert!(ended.message().contains("lifetime"), "{}", ended.message());
    terminate_when_running(&gw, id).await;
}
