//! `businesses`, `topology` and `hosts` run as the real binary against the demo world: tables
//! (snapshots), every output format, filters by name, and how refusals read and exit.

mod common;

use common::{Ctl, json, json_lines};
use e2e::stack::{Door, Stack};
use sqlx::postgres::PgConnectOptions;

type Pool = sqlx::pool::PoolOptions<sqlx::Postgres>;

#[sqlx::test(migrations = false)]
async fn hosts_businesses_and_topology_print_readable_tables(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let hosts = ctl
        .expect(0, "alice", &["hosts", "--biz", "3", "--utc"])
        .await;
    insta::assert_snapshot!("hosts_biz_3", hosts.stdout);
    let topo = ctl.expect(0, "alice", &["topology", "--biz", "3"]).await;
    insta::assert_snapshot!("topology_biz_3", topo.stdout);
    let biz = ctl.expect(0, "admin", &["businesses", "--archived"]).await;
    insta::assert_snapshot!("businesses_archived", biz.stdout);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn hosts_are_narrowed_by_module_and_set_names_ip_name_and_agent_status(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let ids = |args: Vec<&'static str>| {
        let ctl = &ctl;
        async move {
            let mut all = vec!["hosts", "--biz", "3", "-o", "json"];
            all.extend(args);
            let doc = json(&ctl.expect(0, "alice", &all).await);
            doc["hosts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["bk_host_id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        ids(vec!["--module", "gamesvr"]).await,
        [1001, 1002, 1004, 1005, 1009]
    );
    assert_eq!(
        ids(vec!["--module", "gs-zone-1/gamesvr"]).await,
        [1001, 1002, 1009]
    );
    assert_eq!(ids(vec!["--set", "login"]).await, [1007, 1008]);
    assert_eq!(ids(vec!["--module", "3004"]).await, [1006]);
    assert_eq!(ids(vec!["--ip", "10.0.1.13,10.0.1.14"]).await, [1003, 1004]);
    assert_eq!(ids(vec!["--name", "gate"]).await, [1003, 1010]);
    assert_eq!(ids(vec!["--module", "gamesvr", "--offline"]).await, [1009]);

    let lines = json_lines(
        &ctl.expect(0, "alice", &["hosts", "--biz", "3", "-o", "jsonl"])
            .await,
    );
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[8]["agent_status"], "AGENT_STATUS_OFFLINE");
    let csv = ctl
        .expect(
            0,
            "alice",
            &["hosts", "--biz", "3", "--set", "login", "-o", "csv"],
        )
        .await;
    assert_eq!(
        csv.stdout,
        "ID,IP,CLOUD,NAME,AGENT,MODULES\n1007,10.0.1.17,0,login-01,online,login/login\n\
         1008,10.0.1.18,0,login-02,online,login/login\n"
    );
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn refusals_are_one_line_with_the_code_and_exit_with_their_own_codes(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let denied = ctl.expect(5, "bob", &["hosts", "--biz", "3"]).await;
    assert!(
        denied.stderr.starts_with("backupctl: permission denied: "),
        "{}",
        denied.stderr
    );
    assert_eq!(denied.stderr.lines().count(), 1, "{}", denied.stderr);
    let verbose = ctl.expect(5, "bob", &["hosts", "--biz", "3", "-v"]).await;
    assert!(
        verbose.stderr.contains("reason: BK_PERMISSION_DENIED"),
        "{}",
        verbose.stderr
    );

    let missing = ctl.expect(4, "admin", &["hosts", "--biz", "999"]).await;
    assert!(
        missing.stderr.starts_with("backupctl: not found: "),
        "{}",
        missing.stderr
    );

    let bad_ip = ctl
        .expect(1, "alice", &["hosts", "--biz", "3", "--ip", "10.0.1"])
        .await;
    assert_eq!(
        bad_ip.stderr,
        "backupctl: invalid argument: `inner_ips[0]`: `10.0.1` is not an IP address\n"
    );
    let no_module = ctl
        .expect(2, "alice", &["hosts", "--biz", "3", "--module", "nope"])
        .await;
    assert_eq!(
        no_module.stderr,
        "backupctl: --module: no module named `nope`\n"
    );
    let no_biz = ctl.expect(2, "admin", &["hosts"]).await;
    assert_eq!(
        no_biz.stderr,
        "backupctl: give --biz: you may see 3 (Fantasy Legends), 5 (payments)\n"
    );
    let only = json(&ctl.expect(0, "bob", &["hosts", "-o", "json"]).await);
    assert_eq!(
        only["hosts"][0]["bk_host_id"], 2001,
        "bob's only business is 5"
    );
    let usage = ctl.expect(2, "alice", &["hosts", "--bizz", "3"]).await;
    assert!(
        usage.stderr.contains("unexpected argument"),
        "{}",
        usage.stderr
    );

    let mut no_server = ctl.command("alice", &["hosts", "--biz", "3"]);
    no_server.env_remove("BACKUPCTL_SERVER");
    let run: common::Run = tokio::task::spawn_blocking(move || no_server.output().unwrap())
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no server"), "{}", run.stderr);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_profile_gives_the_server_token_user_and_business_and_the_token_is_never_printed(
    _p: Pool,
    db: PgConnectOptions,
) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let dir = ctl.config.path().join("backupctl");
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("demo.token");
    std::fs::write(&token, format!("{}\n", e2e::TOKEN)).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "default_profile = \"demo\"\n[profiles.demo]\nserver = \"{}\"\ntoken_file = \"{}\"\n\
             user = \"alice\"\nbiz = 3\n",
            ctl.server,
            token.display()
        ),
    )
    .unwrap();
    let mut cmd = ctl.command("", &["hosts", "--set", "login", "-o", "csv", "-vv"]);
    cmd.env_remove("BACKUPCTL_SERVER")
        .env_remove("BACKUPCTL_TOKEN")
        .env_remove("BACKUPCTL_USER");
    let run: common::Run = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(run.stdout.lines().count(), 3);
    let mut wrong = ctl.command("", &["hosts", "--profile", "prod"]);
    wrong.env_remove("BACKUPCTL_SERVER");
    let run: common::Run = tokio::task::spawn_blocking(move || wrong.output().unwrap())
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "backupctl: no profile `prod` in the config file\n"
    );
    let mut bad_token = ctl.command("alice", &["hosts", "--biz", "3"]);
    bad_token.env("BACKUPCTL_TOKEN", "wrong-secret-value");
    let run: common::Run = tokio::task::spawn_blocking(move || bad_token.output().unwrap())
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(!run.stderr.contains("wrong-secret-value"), "{}", run.stderr);
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_reader_that_stops_reading_ends_the_command_quietly(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let mut cmd = ctl.command("alice", &["hosts", "--biz", "3", "-o", "jsonl"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().unwrap();
        // Like `| head -0`: the reading end is closed before anything is printed.
        drop(child.stdout.take());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let run = common::Run::from(out);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:#?}");
    stack.stop().await;
}

#[sqlx::test(migrations = false)]
async fn a_person_signs_in_with_their_bk_token_alone(_p: Pool, db: PgConnectOptions) {
    let stack = Stack::start(&db, Door::Esb).await;
    let ctl = Ctl::new(&stack);
    let person = |args: &[&str]| {
        let mut cmd = ctl.command("", args);
        cmd.env_remove("BACKUPCTL_TOKEN")
            .env_remove("BACKUPCTL_USER")
            .env("BACKUPCTL_BK_TOKEN", "tkn-bob");
        async move {
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            common::Run::from(out)
        }
    };
    let hosts = person(&["hosts", "--biz", "5", "-o", "csv"]).await;
    assert_eq!(hosts.code, 0, "{hosts:#?}");
    assert_eq!(hosts.stdout.lines().count(), 3, "{}", hosts.stdout);
    let denied = person(&["hosts", "--biz", "3"]).await;
    assert_eq!(denied.code, 5, "{denied:#?}");
    let mut stranger = ctl.command("", &["businesses", "--bk-token", "tkn-nobody"]);
    stranger
        .env_remove("BACKUPCTL_TOKEN")
        .env_remove("BACKUPCTL_USER");
    let run: common::Run = tokio::task::spawn_blocking(move || stranger.output().unwrap())
        .await
        .unwrap()
        .into();
    assert_eq!(run.code, 5, "{run:#?}");
    assert!(
        run.stderr.starts_with("backupctl: not authenticated: "),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("tkn-nobody"),
        "the token is not echoed: {}",
        run.stderr
    );
    stack.stop().await;
}
