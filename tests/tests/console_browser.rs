//! The web console in a real browser (log in, search, pick hosts, back up to SUCCEEDED, records and their
//! JOB link, cancel a hanging backup, retry a failed host, English, a schedule and its first run,
//! a permission error, an expired login): headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` in console/e2e) against the whole stack. `scripts/test.sh` installs
//! chromium and builds the console (`scripts/console.sh`) before the tests run; screenshots
//! of each page land in target/console-screenshots/.
//!
//! The browser has no bearer token: the person logs in with their BlueKing token, which the
//! login form sets as the `bk_token` cookie, and backup-service verifies it through
//! job-gateway's LoginService on every call.

use std::path::{Path, PathBuf};

use e2e::stack::{Door, Stack};
use sqlx::postgres::PgConnectOptions;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[sqlx::test(migrations = false)]
async fn in_chromium_a_person_logs_in_searches_picks_hosts_backs_up_cancels_retries_and_opens_a_records_job_link(
    _p: sqlx::pool::PoolOptions<sqlx::Postgres>,
    db: PgConnectOptions,
) {
    assert!(
        backup_service::console::assets::built(),
        "backup-service was built without the console: run `scripts/console.sh build`, then the tests again (scripts/test.sh does both)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "no Chromium at {chromium}: run `scripts/console.sh browser` (installs Debian's chromium)"
    );
    let login_url = "http://paas.bk.example/login/";
    let stack = Stack::start_custom(
        &db,
        Door::Esb,
        |gw| {
            gw.bk.login_url = login_url.to_owned();
            // Each call asks BlueKing: an expired login shows at the next call, not after 30 s.
            gw.bk.login_cache_ms = 0;
        },
        |_| {},
    )
    .await;
    let shots = workspace().join("target/console-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = tokio::process::Command::new("node")
        .arg(workspace().join("console/e2e/console.e2e.mjs"))
        .current_dir(workspace().join("console"))
        .env("CONSOLE_URL", format!("http://{}", stack.backup.addr))
        .env("SIM_URL", stack.sim.base_url())
        .env("BK_TOKEN", "tkn-alice")
        .env("OPERATOR", "alice")
        .env("LOGIN_URL", login_url)
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOTS", &shots)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs (scripts/console.sh build installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser spec failed ({}); screenshots in {}:\n{stdout}\n{stderr}",
        out.status,
        shots.display()
    );
    assert!(
        stdout.contains("console e2e: all checks passed"),
        "{stdout}"
    );
    for shot in [
        "01-login",
        "02-search",
        "03-host-picker",
        "04-progress",
        "05-records",
        "06-job-page",
        "07-cancelled",
        "08-retried",
        "09-backups-en",
        "10-schedule-form",
        "11-schedule-runs",
        "12-schedule-edit",
        "13-permission-denied",
        "14-login-expired",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    stack.stop().await;
}
