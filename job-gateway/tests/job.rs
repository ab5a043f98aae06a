//! JobService happy paths against bk-sim over real HTTP, on both transports.

mod common;

use common::{GAME_BIZ, TRANSPORTS, biz, follow, gateway, req, script, sim};
use proto::jobgateway::v1 as pb;

#[tokio::test]
async fn a_script_runs_and_its_status_logs_and_history_come_back_typed_on_both_transports() {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let mut request = script(
            "echo \"hello $1\"; [ \"$(hostname)\" != x ] && exit 3",
            &[101, 102],
        );
        request.script_param = "world".to_owned();
        request.task_name = format!("gw-test-{transport:?}");
        let launched = job
            .execute_script(req(request, None))
            .await
            .unwrap()
            .into_inner();
        assert!(launched.job_instance_id > 0);
        assert_eq!(launched.job_instance_name, format!("gw-test-{transport:?}"));
        assert_eq!(
            launched.job_url,
            format!("{}/api_execute/{}", sim.base, launched.job_instance_id)
        );

        let snapshots = follow(&gw, launched.job_instance_id).await;
        let last = snapshots.last().unwrap();
        let instance = last.job_instance.as_ref().unwrap();
        assert!(instance.finished);
        assert_eq!(
            (instance.status(), instance.status_code),
            (pb::RunStatus::Failed, 4)
        );
        assert!(
            snapshots[..snapshots.len() - 1].iter().all(|s| !s
                .job_instance
                .as_ref()
                .unwrap()
                .finished)
        );

        let status = job
            .get_job_instance_status(req(
                pb::GetJobInstanceStatusRequest {
                    scope: biz(GAME_BIZ),
                    job_instance_id: launched.job_instance_id,
                    with_host_results: true,
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            status.job_instance.as_ref().unwrap().job_url,
            launched.job_url
        );
        assert_eq!(status.steps.len(), 1);
        let step = &status.steps[0];
        assert_eq!(
            (step.step_instance_id, step.r#type()),
            (launched.step_instance_id, pb::StepType::Script)
        );
        let mut hosts: Vec<(i64, pb::HostStatus, i32, i32, bool)> = step
            .host_results
            .iter()
            .map(|h| {
                (
                    h.bk_host_id,
                    h.status(),
                    h.status_code,
                    h.exit_code,
                    h.finished,
                )
            })
            .collect();
        hosts.sort_by_key(|h| h.0);
        assert_eq!(
            hosts,
            [
                (101, pb::HostStatus::ScriptNonZeroExit, 104, 3, true),
                (102, pb::HostStatus::ScriptNonZeroExit, 104, 3, true),
            ]
        );

        let logs = job
            .get_job_instance_logs(req(
                pb::GetJobInstanceLogsRequest {
                    scope: biz(GAME_BIZ),
                    job_instance_id: launched.job_instance_id,
                    step_instance_id: launched.step_instance_id,
                    bk_host_ids: vec![102, 101, 103],
                    hosts_by_ip: vec![],
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(logs.log_type(), pb::LogType::Script);
        let got: Vec<(i64, bool, &str)> = logs
            .host_logs
            .iter()
            .map(|l| (l.bk_host_id, l.found, l.log_content.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (102, true, "hello world\n"),
                (101, true, "hello world\n"),
                (103, false, "")
            ]
        );

        let created = status.job_instance.unwrap().create_time.unwrap();
        let listed = job
            .list_job_instances(req(
                pb::ListJobInstancesRequest {
                    scope: biz(GAME_BIZ),
                    create_time_start: Some(prost_types::Timestamp {
                        seconds: created.seconds - 60,
                        nanos: 0,
                    }),
                    create_time_end: Some(prost_types::Timestamp {
                        seconds: created.seconds + 60,
                        nanos: 0,
                    }),
                    name_contains: format!("gw-test-{transport:?}"),
                    status: pb::RunStatus::Failed as i32,
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<(i64, pb::JobInstanceType, pb::LaunchMode, &str)> = listed
            .job_instances
            .iter()
            .map(|j| {
                (
                    j.job_instance_id,
                    j.r#type(),
                    j.launch_mode(),
                    j.operator.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [(
                launched.job_instance_id,
                pb::JobInstanceType::FastScript,
                pb::LaunchMode::Api,
                "admin"
            )]
        );
        assert_eq!(
            (listed.total_size, listed.next_page_token.as_str()),
            (1, "")
        );
    }
}

#[tokio::test]
async fn a_running_job_is_terminated_and_the_watch_ends_on_stopped_on_both_transports() {
    let sim = sim().await;
    sim.host_fault(103, "hang").await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let launched = job
            .execute_script(req(script("echo started", &[103]), None))
            .await
            .unwrap()
            .into_inner();
        let mut watch = job
            .watch_job_instance(req(
                pb::WatchJobInstanceRequest {
                    scope: biz(GAME_BIZ),
                    job_instance_id: launched.job_instance_id,
                    with_host_results: false,
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        // Terminate only once JOB reports the job running (it refuses other states).
        loop {
            let m = watch
                .message()
                .await
                .unwrap()
                .expect("stream open while the host hangs");
            assert!(m.steps.iter().all(|s| s.host_results.is_empty()));
            if m.job_instance.unwrap().status() == pb::RunStatus::Running {
                break;
            }
        }
        let done = job
            .terminate_job_instance(req(
                pb::TerminateJobInstanceRequest {
                    scope: biz(GAME_BIZ),
                    job_instance_id: launched.job_instance_id,
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (done.job_instance_id, done.job_url),
            (launched.job_instance_id, launched.job_url)
        );
        let mut last = None;
        while let Some(m) = watch.message().await.unwrap() {
            last = Some(m);
        }
        let instance = last.unwrap().job_instance.unwrap();
        assert_eq!(
            (instance.status(), instance.finished),
            (pb::RunStatus::Stopped, true)
        );
    }
}
