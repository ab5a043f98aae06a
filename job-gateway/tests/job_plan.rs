//! Job plans against bk-sim over real HTTP, on both transports: list, detail, execution with a
//! host-list variable, the execution's variable values, and plan times in either unit.

mod common;

use common::{GAME_BIZ, TRANSPORTS, WORLD, biz, follow, gateway, req, sim, sim_with_world};
use proto::jobgateway::v1 as pb;

#[tokio::test]
async fn a_plan_runs_with_a_host_list_variable_and_its_plan_and_variables_read_back_on_both_transports()
 {
    let sim = sim().await;
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let plans = job
            .list_job_plans(req(
                pb::ListJobPlansRequest {
                    scope: biz(GAME_BIZ),
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        let listed: Vec<(i64, &str, i64)> = plans
            .job_plans
            .iter()
            .map(|p| (p.job_plan_id, p.name.as_str(), p.job_template_id))
            .collect();
        assert_eq!(listed, [(700, "list logs", 70)]);
        assert_eq!(
            plans.job_plans[0].plan_url,
            format!("{}/api_plan/700", sim.base)
        );

        let plan = job
            .get_job_plan(req(
                pb::GetJobPlanRequest {
                    scope: biz(GAME_BIZ),
                    job_plan_id: 700,
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner()
            .job_plan
            .unwrap();
        let vars: Vec<(&str, pb::GlobalVariableType)> = plan
            .global_vars
            .iter()
            .map(|v| (v.name.as_str(), v.r#type()))
            .collect();
        assert_eq!(
            vars,
            [
                ("dir", pb::GlobalVariableType::String),
                ("targets", pb::GlobalVariableType::HostList)
            ]
        );
        // JOB's plan details list hosts as `ip_list` entries that carry their host id.
        let var_hosts = plan.global_vars[1].hosts.as_ref().unwrap();
        let ids: Vec<(i64, &str)> = var_hosts
            .hosts_by_ip
            .iter()
            .map(|h| (h.bk_host_id, h.ip.as_str()))
            .collect();
        assert_eq!(ids, [(101, "10.0.0.1")]);
        let Some(pb::plan_step::Detail::Script(step)) = &plan.steps[0].detail else {
            panic!("plan step is not a script step: {:?}", plan.steps[0]);
        };
        assert_eq!(step.script_content, "#!/bin/bash\nls \"$dir\" | sort\n");
        assert_eq!(step.target.as_ref().unwrap().variable, "targets");

        use pb::global_variable_value::{Content, Selector};
        let launched = job
            .execute_job_plan(req(
                pb::ExecuteJobPlanRequest {
                    scope: biz(GAME_BIZ),
                    job_plan_id: 700,
                    global_vars: vec![pb::GlobalVariableValue {
                        selector: Some(Selector::Name("targets".to_owned())),
                        content: Some(Content::Hosts(pb::ExecuteTarget {
                            bk_host_ids: vec![101, 102],
                            ..Default::default()
                        })),
                    }],
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(launched.job_instance_name, "list logs");
        assert_eq!(
            launched.job_url,
            format!("{}/api_execute/{}", sim.base, launched.job_instance_id)
        );
        let last = follow(&gw, launched.job_instance_id).await.pop().unwrap();
        let mut hosts: Vec<(i64, pb::HostStatus)> = last.steps[0]
            .host_results
            .iter()
            .map(|h| (h.bk_host_id, h.status()))
            .collect();
        hosts.sort_by_key(|h| h.0);
        assert_eq!(
            hosts,
            [
                (101, pb::HostStatus::Success),
                (102, pb::HostStatus::Success)
            ]
        );

        let vars = job
            .get_job_instance_global_vars(req(
                pb::GetJobInstanceGlobalVarsRequest {
                    scope: biz(GAME_BIZ),
                    job_instance_id: launched.job_instance_id,
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(vars.job_url, launched.job_url);
        let values: Vec<(&str, &str)> = vars.steps[0]
            .variables
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        assert_eq!(values, [("dir", "/data/logs")]);
    }
}

/// Plan 701 has its times in milliseconds, as JOB's docs show them; plan 702 has a time that is
/// past the year 9999 in either unit.
const PLAN_TIMES: &str = r#"
[[plan]]
id = 701
biz = 3
name = "times in milliseconds"
create_time = 1546272000000
last_modify_time = 1546272000

[[plan]]
id = 702
biz = 3
name = "time out of range"
create_time = 9000000000000000
last_modify_time = 1546272000250
"#;

#[tokio::test]
async fn plan_times_in_seconds_or_milliseconds_read_back_as_valid_timestamps_on_both_transports() {
    let sim = sim_with_world(&format!("{WORLD}{PLAN_TIMES}")).await;
    let at = |seconds, nanos| Some(prost_types::Timestamp { seconds, nanos });
    let want = [
        (701, at(1_546_272_000, 0), at(1_546_272_000, 0)),
        (702, None, at(1_546_272_000, 250_000_000)),
    ];
    for transport in TRANSPORTS {
        let gw = gateway(sim.settings(transport)).await;
        let mut job = gw.job().await;
        let listed = job
            .list_job_plans(req(
                pb::ListJobPlansRequest {
                    scope: biz(GAME_BIZ),
                    name_contains: "time".to_owned(),
                    ..Default::default()
                },
                None,
            ))
            .await
            .unwrap()
            .into_inner()
            .job_plans;
        let times: Vec<_> = listed
            .into_iter()
            .map(|p| (p.job_plan_id, p.create_time, p.last_modify_time))
            .collect();
        assert_eq!(times, want, "{transport:?} list");
        for (id, create, modify) in want {
            let plan = job
                .get_job_plan(req(
                    pb::GetJobPlanRequest {
                        scope: biz(GAME_BIZ),
                        job_plan_id: id,
                    },
                    None,
                ))
                .await
                .unwrap()
                .into_inner()
                .job_plan
                .unwrap();
            assert_eq!(
                (plan.create_time, plan.last_modify_time),
                (create, modify),
                "{transport:?} plan {id}"
            );
        }
    }
}
