//! The proto is the contract, for the host selector of SearchFiles and StartBackup
//! (`backup.v1.HostSelector`): each kind alone and combined, resolved through CMDB over both
//! BlueKing front doors; a host moved into a module between two backups; bad selectors,
//! empty results and the host limit; request id replays. Over real gRPC against the whole
//! stack (bk-sim, job-gateway, backup-service, Postgres).

use e2e::contract::{backup_count, violation};
use e2e::flow::{Client, get, start, watch_to_end};
use e2e::stack::{Door, Stack};
use proto::backup::v1 as pb;
use sqlx::postgres::PgConnectOptions;
use tonic::Code;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

/// A StartBackup of business 3's `/data/logs/*.log` on the hosts `sel` selects.
fn selected(sel: pb::HostSelector) -> pb::StartBackupRequest {
    pb::StartBackupRequest {
        selector: Some(sel),
        ..start(&[], "/data/logs", "log")
    }
}

/// The SearchFiles request of the same selector.
fn search_of(req: &pb::StartBackupRequest) -> pb::SearchFilesRequest {
    pb::SearchFilesRequest {
        bk_biz_id: req.bk_biz_id,
        bk_host_ids: req.bk_host_ids.clone(),
        selector: req.selector.clone(),
        bk_file_dir: req.bk_file_dir.clone(),
        bk_file_suffix: req.bk_file_suffix.clone(),
        ..Default::default()
    }
}

fn modules(ids: &[i64]) -> pb::HostSelector {
    pb::HostSelector {
        bk_module_ids: ids.to_vec(),
        ..Default::default()
    }
}

fn cloud_ips(list: &[&str]) -> pb::HostSelector {
    pb::HostSelector {
        cloud_ips: list.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

/// How many BlueKing requests bk-sim received, of every API.
async fn upstream_total(stack: &Stack) -> u64 {
    let counts: serde_json::Value =
        reqwest::get(format!("{}/_sim/requests/counts", stack.sim.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    counts["total"].as_u64().expect("a total")
}

/// Moves `host` to `modules` in bk-sim, as an operator would in CMDB.
async fn move_host(stack: &Stack, host: i64, modules: &[i64]) {
    reqwest::Client::new()
        .put(format!(
            "{}/_sim/hosts/{host}/modules",
            stack.sim.base_url()
        ))
        .json(&serde_json::json!({ "bk_module_ids": modules }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("host moved");
}

/// The hosts the stored backup of `req` names, and what GetBackup says of them.
async fn resolved(client: &mut Client, req: pb::StartBackupRequest) -> Vec<i64> {
    let backup = client
        .start_backup(req)
        .await
        .expect("start backup")
        .into_inner()
        .backup
        .expect("backup");
    let again = get(client, &backup.backup_id, pb::BackupView::Hosts).await;
    assert_eq!(again.bk_host_ids, backup.bk_host_ids);
    let results: Vec<i64> = again.host_results.iter().map(|h| h.bk_host_id).collect();
    assert_eq!(results, backup.bk_host_ids);
    backup.bk_host_ids
}

/// Every kind of selector, alone and combined, through `door`. Demo world, business 3:
/// module 3001 holds 1001, 1002, 1009; module 3002 holds 1003, 1010; set 302 holds 1004,
/// 1005, 1006, 1010; set 303 holds 1007, 1008; host 1003 is `0:10.0.1.13`.
async fn each_kind_resolves(db: &PgConnectOptions, door: Door) {
    let stack = Stack::start(db, door).await;
    let mut client = stack.client("admin").await;
    let cases = [
        (
            pb::HostSelector {
                bk_host_ids: vec![1002, 1001, 1002],
                ..Default::default()
            },
            vec![1001, 1002],
        ),
        (cloud_ips(&["0:10.0.1.13", "0:10.0.1.13"]), vec![1003]),
        (
            pb::HostSelector {
                bk_set_ids: vec![302],
                ..Default::default()
            },
            vec![1004, 1005, 1006, 1010],
        ),
        (modules(&[3001]), vec![1001, 1002, 1009]),
        (
            pb::HostSelector {
                all_hosts: true,
                ..Default::default()
            },
            (1001..=1010).collect(),
        ),
        // The union; 1010 is in module 3002 and set 302, 1001 by address and module.
        (
            pb::HostSelector {
                bk_host_ids: vec![1007],
                cloud_ips: vec!["0:10.0.1.11".into()],
                bk_set_ids: vec![303, 302],
                bk_module_ids: vec![3002, 3001],
                all_hosts: false,
            },
            vec![1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010],
        ),
        (
            pb::HostSelector {
                bk_host_ids: vec![1008],
                cloud_ips: vec!["0:10.0.1.11".into()],
                bk_module_ids: vec![3002],
                ..Default::default()
            },
            vec![1001, 1003, 1008, 1010],
        ),
    ];
    for (sel, want) in cases {
        assert_eq!(
            resolved(&mut client, selected(sel.clone())).await,
            want,
            "{sel:?}"
        );
    }
    // SearchFiles: one result per selected host, ascending.
    let found = client
        .search_files(search_of(&selected(modules(&[3005, 3002]))))
        .await
        .expect("search")
        .into_inner();
    let hosts: Vec<i64> = found.host_results.iter().map(|h| h.bk_host_id).collect();
    assert_eq!(hosts, [1003, 1007, 1008, 1010]);
    assert!(found.job_instance_id > 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn over_esb_each_selector_kind_selects_its_hosts_alone_and_combined(
    _p: Pool,
    db: PgConnectOptions,
) {
    each_kind_resolves(&db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn over_the_api_gateway_each_selector_kind_selects_its_hosts_alone_and_combined(
    _p: Pool,
    db: PgConnectOptions,
) {
    each_kind_resolves(&db, Door::Apigw).await;
}

#[sqlx::test(migrations = false)]
async fn a_host_moved_into_a_module_between_two_backups_is_in_the_second_only(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let first = client
        .start_backup(selected(modules(&[3001])))
        .await
        .unwrap()
        .into_inner()
        .backup
        .unwrap();
    assert_eq!(first.bk_host_ids, [1001, 1002, 1009]);
    move_host(&stack, 1003, &[3001]).await;
    assert_eq!(
        resolved(&mut client, selected(modules(&[3001]))).await,
        [1001, 1002, 1003, 1009]
    );
    // The first backup keeps the hosts it resolved; 1003 left module 3002.
    let again = get(&mut client, &first.backup_id, pb::BackupView::Hosts).await;
    assert_eq!(again.bk_host_ids, [1001, 1002, 1009]);
    assert_eq!(
        resolved(&mut client, selected(modules(&[3002]))).await,
        [1010]
    );
    // A host moved to the business's idle pool leaves its module and stays in `all_hosts`.
    move_host(&stack, 1002, &[900_000_031]).await;
    assert_eq!(
        resolved(&mut client, selected(modules(&[3001]))).await,
        [1001, 1003, 1009]
    );
    let all = pb::HostSelector {
        all_hosts: true,
        ..Default::default()
    };
    assert_eq!(
        resolved(&mut client, selected(all)).await,
        (1001..=1010).collect::<Vec<_>>()
    );
    stack.stop().await;
}

/// Asserts that StartBackup and SearchFiles refuse each request naming its field with a
/// description containing the words.
async fn refused_as<const N: usize>(
    client: &mut Client,
    cases: [(pb::StartBackupRequest, &str, &str); N],
) {
    for (req, field, words) in cases {
        for err in [
            client.start_backup(req.clone()).await.unwrap_err(),
            client.search_files(search_of(&req)).await.unwrap_err(),
        ] {
            let (got, description) = violation(&err);
            assert_eq!(got, field, "{req:?}: {err:?}");
            assert!(description.contains(words), "{req:?}: {description}");
        }
    }
}

/// Bad selectors through `door`: the field each one names, for StartBackup and SearchFiles;
/// nothing runs or is stored.
async fn bad_selectors_are_refused(db: &PgConnectOptions, door: Door) {
    let stack = Stack::start(db, door).await;
    let mut client = stack.client("admin").await;
    let both = pb::StartBackupRequest {
        bk_host_ids: vec![1001],
        ..selected(modules(&[3001]))
    };
    let neither = start(&[], "/data/logs", "log");
    // Malformed input, refused before CMDB is asked.
    let cases = [
        (neither, "bk_host_ids", "at least one host"),
        (both, "selector", "not both"),
        (
            selected(pb::HostSelector::default()),
            "selector",
            "selects nothing",
        ),
        (
            selected(pb::HostSelector {
                all_hosts: true,
                bk_set_ids: vec![301],
                ..Default::default()
            }),
            "selector.all_hosts",
            "give it alone",
        ),
        (
            selected(cloud_ips(&["0:10.0.1.11", "0:10.0.1.12", "abc"])),
            "selector.cloud_ips[2]",
            "\"abc\" is not cloud:ip",
        ),
        (
            selected(pb::HostSelector {
                bk_set_ids: vec![301, -4],
                ..Default::default()
            }),
            "selector.bk_set_ids[1]",
            "must be positive",
        ),
        (
            selected(pb::HostSelector {
                bk_module_ids: (1..=501).collect(),
                ..Default::default()
            }),
            "selector.bk_module_ids",
            "at most 500 entries, got 501",
        ),
    ];
    // Whether admin may act on business 3 is asked of CMDB once and remembered; after that,
    // no malformed request reaches CMDB.
    client
        .list_backups(pb::ListBackupsRequest {
            bk_biz_id: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let before = upstream_total(&stack).await;
    refused_as(&mut client, cases).await;
    assert_eq!(upstream_total(&stack).await, before, "CMDB was asked");
    let cases = [
        // Found by CMDB: a host of business 5 and an unknown one.
        (
            selected(pb::HostSelector {
                bk_host_ids: vec![1001, 2001, 999_999],
                ..Default::default()
            }),
            "selector.bk_host_ids",
            "not in business 3 (unknown to CMDB or in another business): 2001, 999999",
        ),
        // An address no host has, a host's address in another control area, and the address
        // of business 5's host 2001.
        (
            selected(cloud_ips(&[
                "0:10.0.1.11",
                "1:10.0.1.11",
                "0:10.9.9.9",
                "0:10.5.0.11",
            ])),
            "selector.cloud_ips",
            "match no host of business 3: 0:10.5.0.11, 0:10.9.9.9, 1:10.0.1.11",
        ),
        // 501 is business 5's set; 401 is business 4's.
        (
            selected(pb::HostSelector {
                bk_set_ids: vec![301, 501, 401],
                ..Default::default()
            }),
            "selector.bk_set_ids",
            "not a set of business 3: 401, 501",
        ),
        (
            selected(modules(&[3001, 5001, 31])),
            "selector.bk_module_ids",
            "not a module of business 3: 31, 5001",
        ),
    ];
    for (req, field, words) in cases {
        for err in [
            client.start_backup(req.clone()).await.unwrap_err(),
            client.search_files(search_of(&req)).await.unwrap_err(),
        ] {
            let (got, description) = violation(&err);
            assert_eq!(got, field, "{req:?}: {err:?}");
            assert!(description.contains(words), "{req:?}: {description}");
        }
    }
    // The idle pool's "fault host" module is in the business and holds no host.
    let empty = selected(modules(&[900_000_032]));
    for err in [
        client.start_backup(empty.clone()).await.unwrap_err(),
        client.search_files(search_of(&empty)).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
        assert!(
            err.message().contains("selects no host of business 3"),
            "{err:?}"
        );
    }
    // A business the caller may not see is refused as for a host list.
    let mut alice = stack.client("alice").await;
    let mut other = selected(pb::HostSelector {
        all_hosts: true,
        ..Default::default()
    });
    other.bk_biz_id = 5;
    let err = alice.start_backup(other.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = alice.search_files(search_of(&other)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // One that does not exist is NOT_FOUND.
    other.bk_biz_id = 999;
    let err = client.start_backup(other.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let err = client.search_files(search_of(&other)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    assert_eq!(stack.upstream_calls("fast_execute_script").await, 0);
    assert_eq!(backup_count(&mut client).await, 0);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn over_esb_bad_selectors_are_refused_naming_the_field_and_nothing_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    bad_selectors_are_refused(&db, Door::Esb).await;
}

#[sqlx::test(migrations = false)]
async fn over_the_api_gateway_bad_selectors_are_refused_naming_the_field_and_nothing_runs(
    _p: Pool,
    db: PgConnectOptions,
) {
    bad_selectors_are_refused(&db, Door::Apigw).await;
}

#[sqlx::test(migrations = false)]
async fn a_selector_is_held_to_the_host_limit_after_resolution(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start_with(&db, Door::Esb, |s| s.backup.max_hosts = 3).await;
    let mut client = stack.client("admin").await;
    // Three hosts in the module: at the limit.
    assert_eq!(
        resolved(&mut client, selected(modules(&[3001]))).await,
        [1001, 1002, 1009]
    );
    // Listed twice, selected once: still three.
    let twice = pb::HostSelector {
        bk_host_ids: vec![1001, 1009],
        bk_module_ids: vec![3001],
        ..Default::default()
    };
    assert_eq!(
        resolved(&mut client, selected(twice)).await,
        [1001, 1002, 1009]
    );
    let over = [
        pb::HostSelector {
            all_hosts: true,
            ..Default::default()
        },
        modules(&[3001, 3002]),
        pb::HostSelector {
            bk_host_ids: vec![1003],
            bk_module_ids: vec![3001],
            ..Default::default()
        },
    ];
    for sel in over {
        let req = selected(sel);
        for err in [
            client.start_backup(req.clone()).await.unwrap_err(),
            client.search_files(search_of(&req)).await.unwrap_err(),
        ] {
            let (field, description) = violation(&err);
            assert_eq!(field, "selector", "{req:?}");
            assert_eq!(
                description,
                "selects more than 3 hosts (the server's host limit)"
            );
        }
    }
    // A list longer than the limit is refused before CMDB is asked (counted once the two
    // backups' workers are done).
    let listed = client
        .list_backups(pb::ListBackupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .backups;
    for b in &listed {
        watch_to_end(&mut client, &b.backup_id).await;
    }
    let long = selected(pb::HostSelector {
        bk_host_ids: vec![1001, 1002, 1003, 1004],
        ..Default::default()
    });
    let before = upstream_total(&stack).await;
    let err = client.start_backup(long).await.unwrap_err();
    assert_eq!(
        violation(&err),
        (
            "selector.bk_host_ids".to_owned(),
            "at most 3 entries, got 4".to_owned()
        )
    );
    assert_eq!(upstream_total(&stack).await, before);
    assert_eq!(backup_count(&mut client).await, 2);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_replayed_request_id_returns_the_first_backup_without_resolving_again_and_another_selector_is_already_exists(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let mut client = stack.client("admin").await;
    let mut req = selected(modules(&[3001]));
    req.request_id = "selector-replay-1".into();
    let first = client.start_backup(req.clone()).await.unwrap().into_inner();
    assert!(!first.replayed);
    let first = first.backup.unwrap();
    // Its worker's calls are over before the count is taken.
    watch_to_end(&mut client, &first.backup_id).await;
    // The module gains a host; a replay neither sees it nor asks CMDB.
    move_host(&stack, 1003, &[3001]).await;
    let before = upstream_total(&stack).await;
    // The same selector written otherwise (order, a repeat) is the same selector.
    let mut same = selected(modules(&[3001, 3001]));
    same.request_id = req.request_id.clone();
    let again = client.start_backup(same).await.unwrap().into_inner();
    assert!(again.replayed);
    let again = again.backup.unwrap();
    assert_eq!(again.backup_id, first.backup_id);
    assert_eq!(again.bk_host_ids, [1001, 1002, 1009]);
    assert_eq!(upstream_total(&stack).await, before);

    for other in [
        selected(modules(&[3002])),
        pb::StartBackupRequest {
            bk_host_ids: vec![1001, 1002, 1009],
            ..start(&[], "/data/logs", "log")
        },
    ] {
        let other = pb::StartBackupRequest {
            request_id: req.request_id.clone(),
            ..other
        };
        let err = client.start_backup(other).await.unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    }
    assert_eq!(backup_count(&mut client).await, 1);
    stack.stop().await;
}
