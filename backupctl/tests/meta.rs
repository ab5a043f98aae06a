//! What needs no server: `--help` with examples on every command, shell completions, the man
//! page, and usage errors exiting 2.

use assert_cmd::Command;

fn ctl() -> Command {
    let mut cmd = Command::cargo_bin("backupctl").expect("the binary is built");
    cmd.env_clear().env("NO_COLOR", "1");
    cmd
}

fn stdout(args: &[&str]) -> String {
    let out = ctl().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn every_command_has_examples_in_its_help() {
    let groups: &[&[&str]] = &[
        &[],
        &["businesses"],
        &["topology"],
        &["hosts"],
        &["search"],
        &["backup", "start"],
        &["backup", "get"],
        &["backup", "list"],
        &["backup", "watch"],
        &["backup", "cancel"],
        &["backup", "retry"],
        &["records", "list"],
        &["schedule", "create"],
        &["schedule", "list"],
        &["schedule", "get"],
        &["schedule", "update"],
        &["schedule", "pause"],
        &["schedule", "resume"],
        &["schedule", "trigger"],
        &["schedule", "preview"],
        &["schedule", "runs"],
        &["schedule", "delete"],
        &["completions"],
        &["man"],
    ];
    for cmd in groups {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = stdout(&args);
        assert!(help.contains("Examples:\n  backupctl "), "{cmd:?}:\n{help}");
    }
}

#[test]
fn completions_and_the_man_page_are_generated() {
    let bash = stdout(&["completions", "bash"]);
    assert!(bash.contains("_backupctl()"), "{bash}");
    assert!(bash.contains("records"));
    let zsh = stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef backupctl"));
    let man = stdout(&["man"]);
    assert!(man.contains(".TH backupctl 1"), "{man}");
    assert!(man.contains("Exit codes"));
}

#[test]
fn a_usage_error_exits_2_and_an_unreachable_server_exits_1() {
    ctl().args(["backup", "frobnicate"]).assert().code(2);
    ctl().args(["completions", "tcsh"]).assert().code(2);
    let out = ctl()
        .args(["--server", "http://127.0.0.1:1", "hosts", "--biz", "3"])
        .assert()
        .code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("backupctl: cannot connect to http://127.0.0.1:1: "),
        "{err}"
    );
    ctl()
        .args(["--server", "not a url", "hosts"])
        .assert()
        .code(2);
    let out = ctl()
        .args([
            "--server",
            "https://127.0.0.1:1",
            "--ca-cert",
            "/no/such/ca.pem",
            "hosts",
        ])
        .assert()
        .code(2);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("backupctl: cannot read CA file /no/such/ca.pem: "),
        "{err}"
    );
}
