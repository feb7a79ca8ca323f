// Browser tests of Baton's web UI in headless Chromium.
//
//   node run.mjs <baton url> <admin token> <screenshot dir>
//
// Needs /usr/bin/chromium (Debian's package; CHROMIUM overrides the path),
// git, and a runner attached to the Baton instance. Exits non-zero on the
// first failed scenario.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token, shots] = process.argv.slice(2);
if (!base || !token || !shots) {
  console.error("usage: node run.mjs <baton url> <admin token> <screenshot dir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const ci = `
stages: [build, test, deploy]
build:
  stage: build
  script:
    - sleep 3
    - for i in 1 2 3 4 5 6 7 8; do printf '\\033[32mtick %s\\033[0m building part %s\\n' $i $i; sleep 1; done
    - mkdir -p public/sub
    - printf '<script>window.pwned=1;fetch("/pwned")</script><h1>site</h1>' > public/index.html
    - "printf 'body { color: red }\\\\n' > public/sub/style.css"
    - echo iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAFklEQVR4nGNkaPjPgA0wYRUdtBLYAQA/XQKE8HkeRgAAAABJRU5ErkJggg== | base64 -d > public/pixel.png
  artifacts:
    paths: [public/]
unit tests:
  stage: test
  needs: [build]
  script: [echo unit ok]
lint:
  stage: test
  needs: []
  script: [echo lint ok]
deploy:
  stage: deploy
  needs: [unit tests]
  script: [echo deployed]
`;

const slowCI = `
slow:
  script:
    - echo started
    - sleep 120
`;

const git = (dir, ...args) => execFileSync("git", args, {
  cwd: dir, stdio: "pipe",
  env: { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_AUTHOR_NAME: "Web Test", GIT_AUTHOR_EMAIL: "web@example.com",
    GIT_COMMITTER_NAME: "Web Test", GIT_COMMITTER_EMAIL: "web@example.com", GIT_CONFIG_NOSYSTEM: "1" },
}).toString();

function pushURL(path) {
  const u = new URL(base);
  u.username = "root";
  u.password = token;
  u.pathname = "/" + path + ".git";
  return u.toString();
}

function check(cond, msg) {
  if (!cond) throw new Error("check failed: " + msg);
}

const userDir = mkdtempSync(join(tmpdir(), "baton-chromium-"));
// A fresh --user-data-dir: Playwright passes it for a persistent context.
const context = await chromium.launchPersistentContext(userDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
  viewport: { width: 1280, height: 800 }, baseURL: base,
});
const browser = context;
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(30000);
const pwnedRequests = [];
page.on("request", (r) => { if (r.url().includes("/pwned")) pwnedRequests.push(r.url()); });
// The live views follow event streams: record every request to the JSON
// endpoints they used to poll and to the streams, and every status patch
// of a graph node (with whether the document was the one marked before).
const polls = [], streams = [], patches = [];
page.on("request", (r) => {
  const u = r.url();
  if (/\/-\/ui\/.*\.json/.test(u)) polls.push(u);
  if (/\/-\/ui\/.*\/events/.test(u)) streams.push(u);
});
await page.exposeFunction("reportPatch", (cls, same) => { patches.push({ cls, same }); });
await context.addInitScript(() => {
  new MutationObserver((ms) => {
    for (const m of ms) {
      if (m.target.classList && m.target.classList.contains("node") && window.reportPatch) {
        window.reportPatch(m.target.className, window.__sameDocument === true);
      }
    }
  }).observe(document, { attributes: true, attributeFilter: ["class"], subtree: true });
});
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
}

let pipelineURL, jobURL;

// gotoUntil reloads url until selector appears (pipelines are created
// asynchronously after a push).
async function gotoUntil(url, selector, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.goto(url);
    if (await page.locator(selector).count() > 0) return;
    if (Date.now() > deadline) throw new Error(`${selector} never appeared on ${url}`);
    await page.waitForTimeout(300);
  }
}

await step("sign in with a personal access token", async () => {
  await page.goto("/-/sign_in");
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/");
  check(await page.isVisible("text=Sign out"), "signed in");
});

await step("create a project and push a repository", async () => {
  await page.goto("/-/projects/new");
  await page.fill("#name", "website");
  await page.check("input[value=public]");
  await page.click("button:has-text('Create project')");
  await page.waitForURL(base + "/root/website");
  const dir = mkdtempSync(join(tmpdir(), "baton-web-repo-"));
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, ".gitlab-ci.yml"), ci);
  writeFileSync(join(dir, "README.md"), "# website\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "Build the website");
  git(dir, "push", "-q", pushURL("root/website"), "main");
  await gotoUntil("/root/website/-/pipelines", "table .status", 15000);
  await page.click("td a[href*='/-/pipelines/']");
  await page.waitForSelector(".graph .node");
  pipelineURL = page.url();
  check((await page.locator(".graph .node").count()) === 4, "4 job nodes");
  check((await page.locator(".graph .stagehead").count()) === 3, "3 stage columns");
  check((await page.locator("svg.edges path").count()) === 2, "2 needs edges");
});

await step("open a job and see log lines appear live", async () => {
  await page.click(".node a:has-text('build')");
  await page.waitForSelector("#log");
  jobURL = page.url();
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.waitForFunction(() => document.querySelectorAll("#log .line").length > 0 &&
    /tick [5-8]/.test(document.getElementById("log").textContent), null, { timeout: 30000 });
  check(await page.evaluate(() => window.__sameDocument === true), "lines were appended without a reload");
  check(streams.some((u) => u.includes("/trace/events")), "the log page follows the log's event stream");
  check(polls.length === 0, "the log page does not poll: " + polls.join(","));
  check(await page.locator("#log .term-fg32").count() > 0, "ANSI green rendered");
  check(await page.locator("#log details.section").count() > 0, "collapsible sections");
});

await step("watch the pipeline graph go green", async () => {
  await page.goto(pipelineURL);
  await page.waitForFunction(() => document.querySelectorAll(".graph .node.st-success").length === 4 &&
    document.getElementById("pl-status").classList.contains("st-success"), null, { timeout: 90000 });
  await page.waitForSelector(".arts .row");
  await page.screenshot({ path: join(shots, "pipeline.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.screenshot({ path: join(shots, "pipeline-dark.png"), fullPage: true });
  await page.emulateMedia({ colorScheme: "light" });
});

await step("the finished job log has line anchors and metadata", async () => {
  await page.goto(jobURL);
  await page.waitForSelector("#L1");
  check(await page.isVisible("text=Exit code") || await page.isVisible("text=Runner"), "metadata shown");
  await page.goto(jobURL + "#L12");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "job-log.png"), fullPage: true });
});

await step("browse an artifact and preview files", async () => {
  await page.goto(jobURL);
  await page.click("a:has-text('Browse')");
  await page.click("a.dir:has-text('public')");
  await page.waitForSelector("a.file:has-text('index.html')");
  await page.screenshot({ path: join(shots, "artifacts.png"), fullPage: true });
  await page.click("a.file:has-text('index.html')");
  await page.waitForSelector("#preview");
  const text = await page.textContent("#preview");
  check(text.includes("<script>window.pwned=1"), "HTML shown as text");
  check(await page.evaluate(() => window.pwned === undefined), "preview did not run the artifact's script");
  await page.screenshot({ path: join(shots, "preview.png"), fullPage: true });
  await page.goBack();
  await page.click("a.file:has-text('pixel.png')");
  await page.waitForSelector(".imgbox img");
  await page.waitForFunction(() => document.querySelector(".imgbox img").naturalWidth === 8);
});

await step("an HTML artifact cannot run script when opened raw", async () => {
  const raw = jobURL + "/artifacts/raw/public/index.html";
  const resp = await page.goto(raw);
  check(resp.headers()["content-type"].startsWith("text/plain"), "served as text/plain");
  check(resp.headers()["content-security-policy"].includes("sandbox"), "sandboxed");
  await page.waitForTimeout(500);
  check(await page.evaluate(() => window.pwned === undefined), "raw artifact did not run script");
  const pl = pipelineURL + "/artifacts/raw/public/index.html?job=build";
  await page.goto(pl);
  await page.waitForTimeout(300);
  check(await page.evaluate(() => window.pwned === undefined), "pipeline-scoped raw artifact did not run script");
  check(pwnedRequests.length === 0, "no request from artifact script: " + pwnedRequests.join(","));
});

await step("the pipeline page follows events, without polling", async () => {
  const dir = mkdtempSync(join(tmpdir(), "baton-web-live-"));
  git(dir, "init", "-q", "-b", "live");
  writeFileSync(join(dir, ".gitlab-ci.yml"), slowCI);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "A pipeline canceled through the API");
  git(dir, "push", "-q", pushURL("root/website"), "live");
  await gotoUntil("/root/website/-/pipelines?ref=live", "td a[href*='/-/pipelines/']", 15000);
  await page.click("td a[href*='/-/pipelines/']");
  await page.waitForFunction(() => document.querySelector(".node.st-running"), null, { timeout: 30000 });
  const id = page.url().match(/\/-\/pipelines\/(\d+)/)[1];
  polls.length = 0; streams.length = 0; patches.length = 0;
  await page.evaluate(() => { window.__sameDocument = true; });
  const r = await fetch(`${base}/api/v4/projects/root%2Fwebsite/pipelines/${id}/cancel`,
    { method: "POST", headers: { "PRIVATE-TOKEN": token } });
  check(r.status === 200, "canceled through the API: " + r.status);
  const deadline = Date.now() + 30000;
  while (!patches.some((p) => p.same && /st-cancel/.test(p.cls))) {
    if (Date.now() > deadline) throw new Error("no in-place patch to canceled: " + JSON.stringify(patches));
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() => /st-cancel/.test(document.getElementById("pl-status").className), null, { timeout: 30000 });
  check(polls.length === 0, "the pipeline page does not poll: " + polls.join(","));
  // The finished pipeline reloads the page once; wait for that page.
  await page.locator("#pipeline[data-finished=true]").waitFor();
});

await step("cancel a running pipeline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "baton-web-slow-"));
  git(dir, "init", "-q", "-b", "slow");
  writeFileSync(join(dir, ".gitlab-ci.yml"), slowCI);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "A slow pipeline");
  git(dir, "push", "-q", pushURL("root/website"), "slow");
  await gotoUntil("/root/website/-/pipelines?ref=slow", "td a[href*='/-/pipelines/']", 15000);
  await page.click("td a[href*='/-/pipelines/']");
  await page.waitForFunction(() => document.querySelector(".node.st-running"), null, { timeout: 30000 });
  await page.click("#cancel-pipeline");
  await page.waitForFunction(() => /st-cancel/.test(document.getElementById("pl-status").className), null, { timeout: 30000 });
  await page.locator("#pipeline[data-finished=true]").waitFor();
});

await step("CI/CD variables: a masked value never reaches the page", async () => {
  const secret = "Br0wser-Secret-Value-77";
  await page.goto("/root/website/-/settings/ci_cd");
  await page.fill("#new-key", "DEPLOY_SECRET");
  await page.fill("#add-variable textarea[name=value]", secret);
  await page.check("#add-variable input[name=masked]");
  await page.check("#add-variable input[name=protected]");
  await page.click("#add-variable button[type=submit]");
  await page.waitForSelector("#variables tr[data-key=DEPLOY_SECRET]");
  check(!(await page.content()).includes(secret), "the masked value is not in the HTML");
  check((await page.textContent("#variables tr[data-key=DEPLOY_SECRET] .variable-value")).trim() === "*****", "shown as *****");
  await page.click("#variables tr[data-key=DEPLOY_SECRET] summary");
  check(await page.inputValue("#variables tr[data-key=DEPLOY_SECRET] textarea[name=value]") === "", "the edit form holds no value");
  const resp = await page.goto("/root/website/-/settings/ci_cd");
  check(!(await resp.text()).includes(secret), "the served page does not hold the value");
  await page.screenshot({ path: join(shots, "variables.png"), fullPage: true });
  await page.goto("/root/website/-/settings");
  // The first push protected the default branch (its row has an Unprotect
  // button, which has-text('Protect') would also match).
  await page.waitForSelector("#protected-branches code:text-is('main')");
  await page.fill("#pb-name", "release/*");
  await page.click("#protected-branches button:text-is('Protect')");
  await page.waitForSelector("#protected-branches code:has-text('release/*')");
});

await step("schedules and webhooks pages render and take their forms", async () => {
  await page.goto("/root/website/-/pipeline_schedules");
  const form = "form[action$='/-/pipeline_schedules']";
  await page.fill(`${form} input[name=description]`, "nightly");
  await page.fill(`${form} input[name=cron]`, "0 3 * * 1-5");
  await page.fill(`${form} input[name=cron_timezone]`, "Europe/Berlin");
  await page.click(`${form} button[type=submit]`);
  await page.waitForSelector("td:has-text('nightly')");
  check(await page.isVisible("td:has-text('Europe/Berlin')"), "the schedule's zone is listed");
  await page.screenshot({ path: join(shots, "schedules.png"), fullPage: true });
  await page.goto("/root/website/-/hooks");
  await page.waitForSelector("form[action$='/-/hooks'] input[name=url]");
  await page.screenshot({ path: join(shots, "hooks.png"), fullPage: true });
});

await step("group CI/CD variables: a masked value never reaches the page", async () => {
  const resp = await fetch(base + "/api/v4/groups", {
    method: "POST", headers: { "PRIVATE-TOKEN": token, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "Team", path: "team" }),
  });
  check(resp.status === 201, `group created (${resp.status})`);
  const secret = "Gr0up-Browser-Secret-88";
  await page.goto("/-/groups/team/settings/ci_cd");
  await page.fill("#new-key", "GROUP_SECRET");
  await page.fill("#add-variable textarea[name=value]", secret);
  await page.check("#add-variable input[name=masked]");
  await page.click("#add-variable button[type=submit]");
  await page.waitForSelector("#variables tr[data-key=GROUP_SECRET]");
  check(!(await page.content()).includes(secret), "the masked value is not in the HTML");
  check((await page.textContent("#variables tr[data-key=GROUP_SECRET] .variable-value")).trim() === "*****", "shown as *****");
  const served = await page.goto("/-/groups/team/settings/ci_cd");
  check(!(await served.text()).includes(secret), "the served page does not hold the value");
  const api = await fetch(base + "/api/v4/groups/team/variables/GROUP_SECRET", { headers: { "PRIVATE-TOKEN": token } });
  check((await api.json()).value === secret, "the API holds the value the form gave");
  await page.screenshot({ path: join(shots, "group-variables.png"), fullPage: true });
  await page.goto("/-/admin");
  await page.click("a[href='/-/admin/ci_cd']");
  await page.waitForSelector("h1:has-text('Instance CI/CD variables')");
});

await step("protect a tag on the settings page", async () => {
  await page.goto("/root/website/-/settings");
  await page.fill("#pt-name", "v*");
  await page.selectOption("#pt-create", "30");
  await page.click("#protect-tag button[type=submit]");
  await page.waitForSelector("#protected-tags tr[data-tag='v*']");
  check((await page.textContent("#protected-tags tr[data-tag='v*']")).includes("Developers + Maintainers"), "who may create is listed");
  const api = await fetch(base + "/api/v4/projects/root%2Fwebsite/protected_tags/v*", { headers: { "PRIVATE-TOKEN": token } });
  const pt = await api.json();
  check(api.status === 200 && pt.create_access_levels[0].access_level === 30, `the API has the rule (${api.status})`);
  await page.screenshot({ path: join(shots, "protected-tags.png"), fullPage: true });
});

await step("edit a webhook and see its recent deliveries", async () => {
  await page.goto("/root/website/-/hooks");
  await page.fill("form[action$='/-/hooks'] input[name=url]", "https://hooks.example.com/one");
  await page.fill("form[action$='/-/hooks'] input[name=token]", "first-token");
  await page.click("form[action$='/-/hooks'] button[type=submit]");
  await page.waitForSelector("section.hook code:has-text('https://hooks.example.com/one')");
  await page.click("section.hook a:has-text('Edit')");
  await page.waitForSelector("#edit-hook");
  check(!(await page.content()).includes("first-token"), "the token is not shown");
  check(await page.isVisible("h2:has-text('Recent deliveries')"), "recent deliveries are listed");
  await page.fill("#edit-hook input[name=url]", "https://hooks.example.com/two");
  await page.fill("#edit-hook input[name=token]", "second-token");
  await page.check("#edit-hook input[name=pipeline_events]");
  await page.check("#edit-hook input[name=job_events]");
  await page.uncheck("#edit-hook input[name=push_events]");
  await page.uncheck("#edit-hook input[name=enable_ssl_verification]");
  await page.click("#edit-hook button[type=submit]");
  await page.waitForSelector("section.hook code:has-text('https://hooks.example.com/two')");
  const summary = await page.textContent("section.hook p.muted");
  check(/pipeline/.test(summary) && /job/.test(summary) && !/push/.test(summary) && /SSL verification off/.test(summary), `the hook's events and SSL: ${summary}`);
  const api = await fetch(base + "/api/v4/projects/root%2Fwebsite/hooks", { headers: { "PRIVATE-TOKEN": token } });
  const [h] = await api.json();
  check(h.url === "https://hooks.example.com/two" && h.pipeline_events && h.job_events && !h.push_events && !h.enable_ssl_verification, "the API has the edit");
  await page.screenshot({ path: join(shots, "hook-edit.png"), fullPage: true });
});

await step("projects and runners pages render", async () => {
  await page.goto("/");
  await page.waitForSelector("a.title:has-text('root/website')");
  await page.screenshot({ path: join(shots, "projects.png"), fullPage: true });
  await page.goto("/-/runners");
  await page.waitForSelector("table");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(pipelineURL);
  await page.screenshot({ path: join(shots, "pipeline-narrow.png"), fullPage: false });
});

await step("no script errors on Baton's own pages", async () => {
  check(consoleErrors.length === 0, consoleErrors.join("; "));
});

await browser.close();
console.log("all browser scenarios passed");
