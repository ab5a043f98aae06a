// Drives the console in headless Chromium against a running stack (tests/tests/console_browser.rs
// starts bk-sim, job-gateway and backup-service, then runs this file with node):
// log in, search with per-host warnings and failures, pick the gamesvr module's hosts, back up and watch the progress reach
// SUCCEEDED, find the records and follow a JOB link, cancel a hanging backup, retry a backup's
// failed host, list the backups, switch to English, create a schedule and see its first run,
// edit it to back up a module chosen in the topology and see a run resolve it, pause and delete
// it; a user without the business is refused naming the permission to apply for, and an expired
// login links the login page.
// Screenshots of each page go to $SCREENSHOTS. Exits non-zero on the first failed step.
//
// Environment: CONSOLE_URL (http://host:port of backup-service), SIM_URL (bk-sim, whose admin
// API sets host faults and agents), BK_TOKEN (the demo user's
// login token), OPERATOR (the BlueKing user the records name), LOGIN_URL (job-gateway's
// `bk.login_url`), CHROMIUM (default
// /usr/bin/chromium), SCREENSHOTS (a directory).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = required("CONSOLE_URL");
const sim = required("SIM_URL");
const token = required("BK_TOKEN");
const operator = required("OPERATOR");
const loginUrl = required("LOGIN_URL");
const shots = required("SCREENSHOTS");
mkdirSync(shots, { recursive: true });

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

/** Calls bk-sim's admin API. */
async function simAdmin(method, path, body) {
  const r = await fetch(`${sim}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`bk-sim ${method} ${path}: HTTP ${r.status}`);
}

/** Starts a backup of /data/logs/*.log on `hosts` from the search page; its id. */
async function startBackup(hosts) {
  await page.goto(`${base}/search`);
  await page.locator("[data-test=search-hosts]").fill(hosts);
  await page.locator("[data-test=search-dir]").fill("/data/logs");
  await page.locator("[data-test=search-suffix]").fill("log");
  await page.locator("[data-test=backup-start]").click();
  await page.waitForURL(/\/backups\/[0-9a-f-]{36}$/);
  return page.url().split("/").pop();
}

const state = (name, timeout) =>
  page.locator(`[data-test=backup-state][data-state=${name}]`).waitFor(timeout ? { timeout } : undefined);

const profile = mkdtempSync(join(tmpdir(), "console-e2e-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  viewport: { width: 1280, height: 900 },
  locale: "zh-CN",
});
context.setDefaultTimeout(15_000);
const page = context.pages()[0] ?? (await context.newPage());
const failures = [];
page.on("pageerror", (e) => failures.push(`page error: ${e.message}`));
page.on("console", (m) => {
  if (m.type() === "error" || m.type() === "warning") failures.push(`console ${m.type()}: ${m.text()}`);
});
// Transitions are fast-forwarded, so a screenshot shows the state the checks saw.
const shot = (name) =>
  page.screenshot({ path: join(shots, `${name}.png`), fullPage: true, animations: "disabled" });

try {
  // Log in: the demo form sets the bk_token cookie.
  await page.goto(`${base}/login`);
  await page.locator("[data-test=login-token]").fill(token);
  await shot("01-login");
  await page.locator("[data-test=login-submit]").click();
  await page.waitForURL(/\/search$/);
  const cookies = await context.cookies(base);
  check(cookies.some((c) => c.name === "bk_token" && c.value === token), "login sets the bk_token cookie");
  check((await page.locator("header").innerText()).includes("搜索与备份"), "Chinese is the default language");

  // Business 3 (typed in, or chosen from the list when the server lists businesses).
  await page.locator("[data-test=business]").waitFor();
  const biz = page.locator("input[data-test=business]");
  if (await biz.count()) await biz.fill("3");

  // A search with warnings: 1004 has an unreadable subdirectory, 1009's agent is down.
  await page.locator("[data-test=search-hosts]").fill("1001, 1004, 1009");
  await page.locator("[data-test=search-dir]").fill("/project");
  await page.locator("[data-test=search-suffix]").fill("log");
  await page.locator("[data-test=search-submit]").click();
  const totals = page.locator("[data-test=search-totals]");
  await totals.waitFor();
  const rows = page.locator("[data-test=search-results] .el-table__body tr.el-table__row");
  check((await rows.count()) === 3, "the search shows one row per host");
  const table = await page.locator("[data-test=search-results]").innerText();
  check(table.includes("Agent 离线"), "the host whose agent is down says so");
  check(table.includes("无法读取"), "the unreadable subdirectory is a warning");
  await rows.first().locator(".el-table__expand-icon").click();
  await page.locator("[data-test=search-results] .el-table__expanded-cell .mono").first().waitFor();
  await shot("02-search");

  // Pick the gamesvr module of gs-zone-1 in the host picker: 1009's agent is down, so "select
  // all" takes 1001 and 1002. Back them up and watch it to the end.
  await page.locator("[data-test=picker-open]").click();
  const gamesvr = page.locator("[data-test=picker-tree] .el-tree-node__content", { hasText: "gamesvr (3)" }).first();
  await gamesvr.click();
  await page.locator("[data-test=picker-hosts] .el-table__row", { hasText: "10.0.1.19" }).waitFor();
  const offline = page.locator("[data-test=picker-hosts] .el-table__row", { hasText: "10.0.1.19" });
  check((await offline.innerText()).includes("离线"), "the offline host is flagged");
  check(await offline.locator(".el-checkbox.is-disabled").count() === 1, "the offline host is not selectable");
  await page.locator("[data-test=picker-select-all]").click();
  await page.locator("[data-test=picker-count]", { hasText: "已选 2 台" }).waitFor();
  await page.locator("[data-test=picker-hosts] .el-checkbox.is-checked").nth(1).waitFor();
  check(await page.locator("[data-test=picker-hosts] .el-checkbox.is-checked").count() === 2, "both online hosts are ticked");
  await page.locator("[data-test=picker-confirm]:not(.is-disabled)").waitFor();
  await shot("03-host-picker");
  await page.locator("[data-test=picker-confirm]").click();
  check((await page.locator("[data-test=search-hosts]").inputValue()) === "1001, 1002", "the picked hosts fill the form");
  await page.locator("[data-test=search-dir]").fill("/data/logs");
  await page.locator("[data-test=backup-start]").click();
  await page.waitForURL(/\/backups\/[0-9a-f-]{36}$/);
  const backupId = page.url().split("/").pop();
  await state("SUCCEEDED", 90_000);
  const hosts = await page.locator("[data-test=backup-hosts]").innerText();
  check(hosts.includes("1001") && hosts.includes("1002") && hosts.includes("成功"), "both hosts succeeded");
  await shot("04-progress");

  // A reload shows the ended backup again from the saved view.
  await page.reload();
  await state("SUCCEEDED");
  check(true, "the progress view survives a reload");

  // Its records, with a JOB link that opens JOB's execution page.
  await page.locator("[data-test=backup-records]").click();
  await page.waitForURL(/\/records\?backup=/);
  const recordRows = page.locator("[data-test=records-table] .el-table__body tr.el-table__row");
  await recordRows.first().waitFor();
  check((await recordRows.count()) > 0, "the backup's records are listed");
  const records = await page.locator("[data-test=records-table]").innerText();
  check(records.includes(operator), `the records name the operator ${operator}`);
  await shot("05-records");
  const link = page.locator("[data-test=job-link]").first();
  const href = await link.getAttribute("href");
  check(/\/api_execute\/\d+$/.test(href ?? ""), `the JOB link is JOB's execution page (${href})`);
  const [job] = await Promise.all([context.waitForEvent("page"), link.click()]);
  const response = await job.waitForNavigation().catch(() => null);
  await job.waitForLoadState();
  check(job.url() === href && (response === null || response.ok()), "the JOB link opens");
  await job.screenshot({ path: join(shots, "06-job-page.png") });
  await job.close();

  // Cancel a backup whose host hangs.
  await simAdmin("PUT", "/_sim/faults/hosts/1002", { kind: "hang" });
  await startBackup("1002");
  await state("RUNNING", 30_000);
  await page.locator("[data-test=backup-cancel]").click();
  await state("CANCELLED", 30_000);
  check((await page.locator("[data-test=backup-hosts]").innerText()).includes("已取消"), "the hanging host is cancelled");
  await shot("07-cancelled");
  await simAdmin("DELETE", "/_sim/faults/hosts/1002");

  // Retry the failed host: 1009's agent is down, so the backup is PARTIAL; with the agent back,
  // the retry of 1009 alone succeeds.
  const partial = await startBackup("1001, 1009");
  await state("PARTIAL", 90_000);
  const retry = page.locator("[data-test=backup-retry]");
  check((await retry.innerText()).includes("1"), "one host to retry");
  await simAdmin("PUT", "/_sim/hosts/1009/agent", { alive: true });
  await retry.click();
  await page.waitForURL((u) => /\/backups\/[0-9a-f-]{36}$/.test(u.pathname) && !u.pathname.endsWith(partial));
  await state("SUCCEEDED", 90_000);
  const retried = await page.locator("[data-test=backup-hosts]").innerText();
  check(retried.includes("1009") && !retried.includes("1001"), "the retry backed up 1009 alone");
  check((await page.locator("[data-test=backup-retry-of]").innerText()) === partial, "the retry links its original");
  await shot("08-retried");

  // The backups list has it; English by the header's switch.
  await page.goto(`${base}/backups`);
  await page.locator(`[data-test=backups-table] a[href='/backups/${backupId}']`).waitFor();
  check(true, "the backups list links the backup");
  await page.locator("[data-test=language]").click();
  await page.locator(".el-select-dropdown__item", { hasText: "English" }).click();
  await page.locator("header", { hasText: "Records" }).waitFor();
  check(true, "the header switches to English");
  await shot("09-backups-en");

  // A schedule firing every 5 seconds: the preview shows its next 5 fires in its zone; its
  // first run fires a backup; pause it, then delete it.
  await page.getByRole("menuitem", { name: "Schedules" }).click();
  await page.locator("[data-test=schedule-create]").click();
  await page.locator("[data-test=schedule-name]").fill("console-e2e");
  await page.locator("[data-test=schedule-hosts]").fill("1001");
  await page.locator("[data-test=schedule-kind]").click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: "Custom cron" }).click();
  await page.locator("[data-test=schedule-cron]").fill("*/5 * * * * *");
  await page.locator("[data-test=schedule-preview][data-previewed='*/5 * * * * * Asia/Shanghai'] .el-table__row").nth(4).waitFor();
  const preview = await page.locator("[data-test=schedule-preview]").innerText();
  check(/Asia\/Shanghai/.test(preview) && /in \d+ s/.test(preview), "the preview shows the next fires in the schedule's zone and how soon");
  // More settings: a 10-minute run timeout and a pause after 50 failed runs in a row.
  await page.locator("[data-test=schedule-more] .el-collapse-item__header").click();
  await page.locator("[data-test=schedule-run-timeout] input").first().fill("10");
  await page.locator("[data-test=schedule-run-timeout] input").first().blur();
  await page.locator("[data-test=schedule-pause-after] input").fill("50");
  await page.locator("[data-test=schedule-pause-after] input").blur();
  await shot("10-schedule-form");
  await page.locator("[data-test=schedule-save]").click();
  const row = page.locator("[data-test=schedules-table] .el-table__row", { hasText: "console-e2e" });
  await row.locator("[data-test=schedule-state][data-state=ACTIVE]").waitFor();
  await row.locator("[data-test=schedule-runs]").click();
  await page.locator("[data-test=run-decision][data-decision=FIRED]").first().waitFor({ timeout: 30_000 });
  check(
    (await page.locator("[data-test=schedule-runs-table] a[href^='/backups/']").count()) > 0,
    "the schedule's first run fired a backup, linked from its run history",
  );
  await shot("11-schedule-runs");
  await page.keyboard.press("Escape");

  // Edit it: the form reads back what was saved; switch its hosts to the gamesvr module, chosen
  // in the topology, and a later run resolves the module to its three hosts.
  await row.locator("[data-test=schedule-edit]").click();
  await page.locator("[data-test=schedule-more] .el-collapse-item__header").click();
  const timeout = page.locator("[data-test=schedule-run-timeout]");
  check(
    (await timeout.locator("input").first().inputValue()) === "10" && (await timeout.innerText()).includes("min"),
    "the edit form reads back the run timeout",
  );
  check((await page.locator("[data-test=schedule-pause-after] input").inputValue()) === "50", "and the pause after failures");
  await page.locator("[data-test=schedule-hosts]").fill("");
  await page.locator("[data-test=schedule-nodes] .el-select__wrapper").click();
  await page
    .locator(".el-tree-node__content:visible", { hasText: "gs-zone-1 / gamesvr (3)" })
    .first()
    .locator(".el-checkbox")
    .click();
  await page.locator("[data-test=schedule-name]").click();
  await shot("12-schedule-edit");
  await page.locator("[data-test=schedule-save]").click();
  await row.filter({ hasText: "module " }).waitFor();
  check(!(await row.innerText()).includes("#1001"), "the schedule now selects the module, not host 1001");
  await row.locator("[data-test=schedule-runs]").click();
  await page.locator("[data-test=run-hosts][data-hosts='1001,1002,1009']").first().waitFor({ timeout: 30_000 });
  check(true, "a run after the edit resolved the gamesvr module to its hosts 1001, 1002 and 1009");
  await page.keyboard.press("Escape");
  await row.locator("[data-test=schedule-pause]").click();
  await row.locator("[data-test=schedule-state][data-state=PAUSED]").waitFor();
  check(true, "the schedule pauses");
  await row.locator("[data-test=schedule-delete]").click();
  await page.locator(".el-message-box__btns .el-button--primary").click();
  await row.waitFor({ state: "detached" });
  check(true, "the schedule is deleted");

  // Bob may not see business 3: alice's backup is a permission error naming what to apply for.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForURL(/\/login$/);
  await page.locator("[data-test=login-token]").fill("tkn-bob");
  await page.locator("[data-test=login-submit]").click();
  await page.waitForURL(/\/search$/);
  await page.goto(`${base}/backups/${backupId}`);
  const denied = page.locator("[data-test=call-error]");
  await denied.waitFor();
  const deniedText = await denied.innerText();
  check(deniedText.includes("You have no permission on this business."), `bob is refused (${deniedText.replace(/\s+/g, " ")})`);
  check(
    (await denied.locator("[data-test=missing-permissions]").innerText()).includes("Business resource view (Business: Fantasy Legends)"),
    "the refusal names the permission to apply for and its business",
  );
  // bk-sim, like BlueKing's documented answers, sends no apply URL: the link shows only when one comes.
  check((await denied.getByRole("link", { name: "Apply for it in BlueKing" }).count()) === 0, "no apply link without an apply URL");
  check((await page.locator("[data-test=backup-hosts]").count()) === 0, "nothing of alice's backup is shown to bob");
  await shot("13-permission-denied");

  // Bob's login expires: the page says to log in again, linking BlueKing's login page with the
  // page to come back to.
  await simAdmin("POST", "/_sim/login/tokens/tkn-bob/expire");
  await page.reload();
  const expired = page.locator("[data-test=call-error]", { hasText: "You are not logged in, or your login expired" });
  await expired.waitFor();
  const login = await expired.locator("[data-test=login-link]").getAttribute("href");
  check(
    login === `${loginUrl}?c_url=${encodeURIComponent(page.url())}`,
    `an expired login links BlueKing's login page, coming back here (${login})`,
  );
  await shot("14-login-expired");

  check(failures.length === 0, `no page errors ${failures.join("; ")}`);
  console.log("console e2e: all checks passed");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(`console e2e failed at ${page.url()}: ${e.stack ?? e}`);
  for (const f of failures) console.error(f);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
