#!/usr/bin/env node
// Browser end-to-end test of the web UI against the real embedded stack (PostgreSQL, NATS,
// jobstore, runner with local workers, gateway serving web/dist), driven by playwright-core
// and Debian's /usr/bin/chromium. Prints one line per flow and a final "N passed, N failed".
//
//   node e2e/run.mjs [--out DIR] [--python PATH] [--keep]
//   SIMLAB_E2E_URL=http://127.0.0.1:8080 node e2e/run.mjs   # against a stack already running
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const OUT = resolve(opt("--out", process.env.SIMLAB_E2E_OUT ?? join(repo, "test-output/web")));
const PYTHON = resolve(repo, opt("--python", process.env.PYTHON ?? ".venv/bin/python"));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ONLY = process.env.SIMLAB_E2E_ONLY ?? "";
const VIEWPORT = { width: 1280, height: 800 };

mkdirSync(OUT, { recursive: true });
// Screenshots of an earlier run would be mistaken for this one's.
for (const f of readdirSync(OUT)) if (f.endsWith(".png") || f === "results.json") rmSync(join(OUT, f), { force: true });
const results = [];
const notes = [];

function log(...a) {
  console.log(...a);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// The repository's test-only models (one fails on purpose) make the failure view testable.
const TEST_MODELS = join(repo, "tests/support");
function testModelsEnv() {
  if (!existsSync(join(TEST_MODELS, "simlab_test_models.py"))) return {};
  const pythonPath = [TEST_MODELS, process.env.PYTHONPATH].filter(Boolean).join(":");
  return { PYTHONPATH: pythonPath, SIMLAB_MODEL_MODULES: "simlab_test_models" };
}

async function startStack() {
  if (process.env.SIMLAB_E2E_URL) return { url: process.env.SIMLAB_E2E_URL, stop: async () => {} };
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run 'make venv' first`);
  if (!existsSync(join(repo, "web/dist/index.html"))) throw new Error("web/dist is missing: run 'make web-build' first");
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simlab-e2e-"));
  const logFile = createWriteStream(join(OUT, "stack.log"));
  const child = spawn(PYTHON, ["-m", "simlab.devstack", "--state-dir", join(state, "state"), "--port", String(port)], {
    cwd: repo,
    env: { ...process.env, SIMLAB_PORT: String(port), PYTHONUNBUFFERED: "1", ...testModelsEnv() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited = null;
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error("the stack did not print 'ready' within 180 s (see stack.log)")), 180_000);
    const onData = (buf) => {
      logFile.write(buf);
      if (/\bready\b/.test(buf.toString()) && /127\.0\.0\.1|localhost|ready at/.test(buf.toString())) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code, sig) => {
      exited = { code, sig };
      clearTimeout(timer);
      rej(new Error(`the stack exited early (code ${code}, signal ${sig}); see ${join(OUT, "stack.log")}`));
    });
  });
  const stop = async () => {
    if (exited === null) {
      // The stack stops its services one by one (up to 20 s each) and then NATS and
      // PostgreSQL: give it the time, or they would outlive it.
      const t0 = Date.now();
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => {
        log("the stack did not stop within 120 s: killing it");
        child.kill("SIGKILL");
      }, 120_000);
      await done;
      clearTimeout(t);
      log(`stack stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    logFile.end();
    if (!args.includes("--keep")) rmSync(state, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await ready;
    // "ready" may be logged just before the socket accepts: wait until / answers.
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await fetch(url + "/");
        if (r.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) throw new Error(`${url}/ did not answer within 30 s of 'ready'`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}

async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), "simlab-chromium-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      // A fresh --user-data-dir: playwright passes its own new temporary profile (it refuses
      // the flag here), so no state leaks between runs.
    ],
    env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
  });
  return { browser, profile };
}

// ---- helpers ---------------------------------------------------------------------------

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(page, name) {
  // Full-page shots of a scrolled page draw the sticky header mid-page: start from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(250);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

async function newPage(ctx, pageErrors) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("dialog", (d) => void d.accept());
  return page;
}

async function fillForm(page, model, values) {
  await page.click(`[data-model="${model}"]`);
  await page.waitForSelector(`#form-title`);
  for (const [name, v] of Object.entries(values)) {
    const sel = name === "seed" || name === "shards" ? `[data-field="${name}"]` : `[data-field="parameters.${name}"]`;
    await page.fill(sel, String(v));
  }
}

async function submitAndOpen(page) {
  await page.click('[data-testid="submit"]');
  await page.waitForURL(/\/runs\/[^/]+$/, { timeout: 30_000 });
  await page.waitForSelector('[data-testid="run-page"]');
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
}

async function waitState(page, states, timeout = 120_000) {
  const want = Array.isArray(states) ? states : [states];
  await page.waitForFunction(
    (w) => w.includes(document.querySelector('[data-testid="run-page"]')?.getAttribute("data-state")),
    want,
    { timeout, polling: 100 },
  );
  return page.getAttribute('[data-testid="run-page"]', "data-state");
}

const latencies = [];
async function noteLatency(page) {
  const v = await page.getAttribute('[data-testid="run-page"]', "data-latency-ms");
  if (v !== null) latencies.push(Number(v));
}

async function progressValue(page) {
  const v = await page.getAttribute('[data-testid="progress"]', "aria-valuenow");
  return v === null ? NaN : Number(v);
}

// Owner side: open the Share panel of the run shown, create a link, return its URL.
async function createShareLink(page, expirySeconds) {
  if (!(await page.$('[data-testid="share-panel"]'))) await page.click('[data-testid="share"]');
  await page.waitForSelector('[data-testid="share-panel"]');
  await page.selectOption('[data-testid="share-expiry"]', String(expirySeconds));
  await page.click('[data-testid="share-create"]');
  const input = await page.waitForSelector('[data-testid="share-url"]');
  const link = await input.inputValue();
  expect(/\/runs\/[^/?]+\?share=simlab_share_/.test(link), `share URL looks wrong: ${link}`);
  return link;
}

// A fresh browser context (no storage, no cookies) that records the Authorization header of
// every API call, to prove the shared page really sends the link's token.
async function sharedContext(browser, pageErrors) {
  const ctx = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  const page = await newPage(ctx, pageErrors);
  const calls = [];
  page.on("request", (r) => {
    if (!r.url().includes("/simlab.v1.SimulationService/")) return;
    // Read at once: a request still pending when the context closes would reject later.
    calls.push(
      r
        .allHeaders()
        .then((h) => ({ method: r.url().split("/").pop(), auth: h.authorization ?? "" }))
        .catch(() => null),
    );
  });
  return { ctx, page, calls: async () => (await Promise.all(calls)).filter(Boolean) };
}

async function expectReadOnly(page) {
  await page.waitForSelector('[data-testid="shared-badge"]');
  for (const sel of ['[data-testid="cancel"]', '[data-testid="run-again"]', '[data-testid="share"]', 'nav[aria-label="Main"]', 'nav[aria-label="Breadcrumb"]']) {
    expect((await page.$(sel)) === null, `the shared view shows ${sel}`);
  }
}

async function expectShareTokenSent(calls, token) {
  const seen = await calls();
  expect(seen.length > 0, "the shared page made no API calls");
  const bad = seen.filter((c) => c.auth !== `Bearer ${token}`);
  expect(bad.length === 0, `calls without the share token: ${bad.map((c) => `${c.method} (${c.auth || "no Authorization"})`).join(", ")}`);
  return new Set(seen.map((c) => c.method));
}

async function openLogs(page) {
  if ((await page.getAttribute('[data-testid="logs"]', "data-open")) !== "true") await page.click('[data-testid="logs-toggle"]');
  await page.waitForSelector('[data-testid="logs-view"]');
}

async function logLineCount(page) {
  return page.evaluate(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length);
}

// ---- flows ----------------------------------------------------------------------------

const shared = {};

const flows = [
  [
    "runs list: empty state",
    async ({ page, url }) => {
      await page.goto(url + "/");
      await page.waitForSelector("text=No runs yet");
      await shot(page, "01-runs-empty");
    },
  ],
  [
    "new simulation: invalid value shows the field error (client and server)",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await page.waitForSelector('[data-model="european_option"]');
      await fillForm(page, "european_option", { spot: "-1", strike: "100" });
      await page.press('[data-field="parameters.spot"]', "Tab");
      const err = await page.waitForSelector('[data-testid="error-parameters.spot"]');
      const text = await err.textContent();
      expect(text.includes("must be > 0 (got -1)"), `client error was: ${text}`);
      expect((await page.getAttribute('[data-field="parameters.spot"]', "aria-invalid")) === "true", "spot is not aria-invalid");
      // Submitting moves focus to the first invalid field.
      await page.click('[data-testid="submit"]');
      await page.waitForFunction(() => document.activeElement?.getAttribute("data-field") === "parameters.spot");
      await shot(page, "02-new-invalid");
      // A rule only the server knows (shards vs blocks) comes back at the shards field.
      await page.fill('[data-field="parameters.spot"]', "100");
      await page.fill('[data-field="parameters.paths"]', "200000");
      await page.fill('[data-field="shards"]', "50");
      await page.click('[data-testid="submit"]');
      const serr = await page.waitForSelector('[data-testid="error-shards"]');
      const stext = await serr.textContent();
      expect(/must be <=/.test(stext), `server error at shards was: ${stext}`);
      expect(new URL(page.url()).pathname === "/new", "navigated away despite the server error");
      await shot(page, "03-new-server-error");
    },
  ],
  [
    "presets: save the form, load it later",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await fillForm(page, "european_option", { spot: "123.5", strike: "110", volatility: "0.35", paths: "3000000" });
      await page.fill("#preset-name", "e2e high vol");
      await page.click("text=Save preset");
      await page.waitForSelector("text=Saved “e2e high vol”");
      await page.reload();
      await page.click('[data-model="european_option"]');
      await page.waitForSelector('#preset-select option[value="e2e high vol"]', { state: "attached" });
      await page.selectOption("#preset-select", "e2e high vol");
      await page.waitForFunction(() => document.querySelector('[data-field="parameters.spot"]')?.value === "123.5");
      expect((await page.inputValue('[data-field="parameters.volatility"]')) === "0.35", "volatility not restored");
      await shot(page, "04-new-preset-loaded");
    },
  ],
  [
    "submit from the form and watch progress move",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await fillForm(page, "european_option", { spot: "100", strike: "105", paths: "150000000", seed: "7" });
      await shot(page, "05-new-filled");
      const id = await submitAndOpen(page);
      shared.first = id;
      await waitState(page, ["RUNNING", "SUCCEEDED"], 60_000);
      const seen = new Set();
      const t0 = Date.now();
      let shotTaken = false;
      while (Date.now() - t0 < 120_000) {
        const v = await progressValue(page);
        if (v > 0 && v < 100) seen.add(v);
        if (!shotTaken && v > 20 && v < 90) {
          await page.waitForSelector('[data-testid="convergence-chart"][data-chart-state="ready"]');
          await shot(page, "06-run-live");
          shotTaken = true;
        }
        if ((await page.getAttribute('[data-testid="run-page"]', "data-state")) === "SUCCEEDED") break;
        await page.waitForTimeout(150);
      }
      expect(seen.size >= 2, `progress did not move while running (values seen: ${[...seen].join(", ")})`);
      await waitState(page, "SUCCEEDED", 180_000);
      await noteLatency(page);
      notes.push(`progress values seen while running: ${seen.size}`);
    },
  ],
  [
    "result chart visible and a file downloaded",
    async ({ page, url }) => {
      expect(shared.first, "no run from the previous flow");
      await page.goto(`${url}/runs/${shared.first}`);
      await waitState(page, "SUCCEEDED");
      await page.waitForSelector('[data-testid="summary-table"]');
      await page.waitForSelector('[data-testid="result-chart"][data-chart-state="ready"]', { timeout: 30_000 });
      await page.waitForSelector('[data-testid="convergence-chart"][data-chart-state="ready"]');
      await page.waitForFunction(() => {
        const img = document.querySelector('[data-testid="plot-png"]');
        return img && img.complete && img.naturalWidth > 0;
      });
      const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-summary.json"]')]);
      const file = join(OUT, "downloaded-summary.json");
      await download.saveAs(file);
      const summary = JSON.parse(readFileSync(file, "utf8"));
      expect(typeof summary === "object" && summary !== null, "summary.json is not an object");
      const [csv] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="download-data.csv"]')]);
      expect(csv.suggestedFilename().endsWith(".csv"), `csv download named ${csv.suggestedFilename()}`);
      await shot(page, "07-run-succeeded");
      // Run again: the form comes back prefilled with this run's parameters.
      await page.click('[data-testid="run-again"]');
      await page.waitForURL(/\/new\?from=/);
      await page.waitForFunction(() => document.querySelector('[data-field="parameters.strike"]')?.value === "105");
      expect((await page.inputValue('[data-field="seed"]')) === "7", "seed not prefilled");
    },
  ],
  [
    "the run URL works in a second browser context",
    async ({ browser, url, pageErrors }) => {
      const ctx = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
      try {
        const page = await newPage(ctx, pageErrors);
        await page.goto(`${url}/runs/${shared.first}`);
        await waitState(page, "SUCCEEDED");
        await page.waitForSelector('[data-testid="summary-table"]');
        await page.waitForSelector('[data-testid="timeline"]');
        await shot(page, "08-run-second-context");
        await page.goto(`${url}/runs/does-not-exist-123`);
        await page.waitForSelector("text=Run not found");
        await shot(page, "09-run-not-found");
      } finally {
        await ctx.close();
      }
    },
  ],
  [
    "share link: read-only view in a fresh context, downloads with ?share=, invalid after revoke",
    async ({ page, browser, url, pageErrors }) => {
      expect(shared.first, "no run from an earlier flow");
      await page.goto(`${url}/runs/${shared.first}`);
      await waitState(page, "SUCCEEDED");
      const link = await createShareLink(page, 86_400);
      const token = new URL(link).searchParams.get("share");
      await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="active"]');
      await shot(page, "18-share-panel");

      const { ctx, page: viewer, calls } = await sharedContext(browser, pageErrors);
      try {
        await viewer.goto(link);
        await waitState(viewer, "SUCCEEDED");
        await expectReadOnly(viewer);
        await viewer.waitForSelector('[data-testid="summary-table"]');
        await viewer.waitForSelector('[data-testid="result-chart"][data-chart-state="ready"]', { timeout: 30_000 });
        // The plot and the downloads are plain links: they carry ?share=.
        await viewer.waitForFunction(() => {
          const img = document.querySelector('[data-testid="plot-png"]');
          return img && img.complete && img.naturalWidth > 0;
        });
        const src = await viewer.getAttribute('[data-testid="plot-png"]', "src");
        expect(src.includes(`share=${token}`), `plot src lacks the token: ${src}`);
        const href = await viewer.getAttribute('[data-testid="download-summary.json"]', "href");
        expect(href.endsWith(`?share=${token}`), `download link lacks the token: ${href}`);
        const [download] = await Promise.all([viewer.waitForEvent("download"), viewer.click('[data-testid="download-summary.json"]')]);
        const file = join(OUT, "downloaded-shared-summary.json");
        await download.saveAs(file);
        expect(typeof JSON.parse(readFileSync(file, "utf8")) === "object", "the shared summary.json is not JSON");
        // The finished run's stored logs.
        await openLogs(viewer);
        await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > 0, null, { timeout: 30_000 });
        await viewer.waitForSelector('[data-testid="logs-status"][data-connection="ended"]');
        const logText = await viewer.textContent('[data-testid="logs-view"]');
        expect(/blocks?/.test(logText), `stored log has no block lines: ${logText.slice(0, 300)}`);
        await shot(viewer, "19-shared-view");
        const methods = await expectShareTokenSent(calls, token);
        for (const m of ["WatchJob", "TailLogs"]) expect(methods.has(m), `the shared page never called ${m}: ${[...methods].join(", ")}`);
        // The address keeps the token (reload, copy).
        expect(new URL(viewer.url()).searchParams.get("share") === token, `the address lost the token: ${viewer.url()}`);

        // The owner revokes it: the shared page, reloaded, says the link is dead.
        await page.click('[data-testid="share-links"] tr[data-link-state="active"] [data-testid="share-revoke"]');
        await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="revoked"]');
        expect((await page.$('[data-testid="share-url"]')) === null, "the revoked link's URL is still offered");
        await shot(page, "20-share-revoked-owner");
        await viewer.reload();
        await viewer.waitForSelector('[data-testid="share-invalid"] >> text=This link is no longer valid', { timeout: 30_000 });
        expect((await viewer.$('[data-testid="run-page"]')) === null, "the run is still shown after the revoke");
        await shot(viewer, "21-share-invalid");
        const r = await fetch(`${url}/files/${shared.first}/summary.json?share=${encodeURIComponent(token)}`, { redirect: "manual" });
        expect(r.status === 401 || r.status === 403, `a download with the revoked token answered ${r.status}`);
      } finally {
        await ctx.close();
      }
    },
  ],
  [
    "reconnect after a network drop, then cancel a long run",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await fillForm(page, "pi", { samples: "10000000000" });
      const id = await submitAndOpen(page);
      shared.cancelled = id;
      await waitState(page, "RUNNING", 90_000);
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow")) > 0, null, { timeout: 60_000 });
      // A network drop: the page says so, then resumes the stream where it left off.
      let before;
      try {
        await page.context().setOffline(true);
        await page.waitForSelector('[data-testid="reconnecting"]', { timeout: 30_000 });
        await page.waitForTimeout(1500);
        await shot(page, "10-run-reconnecting");
        before = await progressValue(page);
      } finally {
        await page.context().setOffline(false);
      }
      await page.waitForSelector('[data-testid="reconnecting"]', { state: "detached", timeout: 30_000 });
      await page.waitForFunction((b) => Number(document.querySelector('[data-testid="progress"]')?.getAttribute("aria-valuenow")) > b, before, { timeout: 30_000 });
      await page.click('[data-testid="cancel"]');
      await waitState(page, "CANCELLED", 60_000);
      await noteLatency(page);
      await page.waitForSelector('[data-testid="timeline"] >> text=Cancelled');
      await shot(page, "11-run-cancelled");
    },
  ],
  [
    "compare two runs",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await fillForm(page, "european_option", { spot: "100", strike: "105", volatility: "0.3", paths: "20000000", seed: "11" });
      const second = await submitAndOpen(page);
      await waitState(page, "SUCCEEDED", 180_000);
      await noteLatency(page);
      // Pick both on the runs list and compare.
      await page.goto(url + "/");
      await page.waitForSelector('[data-testid="runs-table"]');
      await page.check(`tr[data-job-id="${shared.first}"] input[type=checkbox]`);
      await page.check(`tr[data-job-id="${second}"] input[type=checkbox]`);
      await shot(page, "12-runs-list");
      await page.click('[data-testid="compare-selected"]');
      await page.waitForURL(/\/compare\?ids=/);
      await page.waitForSelector('[data-testid="compare-chart"][data-chart-state="ready"]', { timeout: 30_000 });
      const diff = await page.textContent('[data-testid="param-diff"]');
      expect(diff.includes("0.3") && diff.includes("0.2"), `parameter diff lacks the volatilities: ${diff}`);
      await page.waitForSelector('[data-testid="summary-diff"]');
      await shot(page, "13-compare");
    },
  ],
  [
    "runs list: filter by model and status, search by id",
    async ({ page, url }) => {
      await page.goto(url + "/");
      await page.waitForSelector('[data-testid="runs-table"]');
      await page.selectOption("#filter-model", "pi");
      await page.waitForFunction(() => [...document.querySelectorAll("[data-job-id]")].length === 1);
      await page.click('.chips >> text="Succeeded"');
      await page.waitForSelector("text=No runs match these filters");
      await shot(page, "14-runs-filtered-empty");
      await page.click("text=Clear filters");
      // Not the start of any id: the server says so, at the search field.
      await page.fill("#filter-search", "zz");
      const searchError = await page.waitForSelector('[data-testid="error-search"]');
      expect(/job_id_prefix|hex digits/.test(await searchError.textContent()), "no hint that an id is hex digits");
      expect((await page.getAttribute("#filter-search", "aria-invalid")) === "true", "the search field is not aria-invalid");
      await shot(page, "14b-runs-search-invalid");
      await page.fill("#filter-search", shared.first.slice(0, 6).toUpperCase());
      await page.waitForFunction((id) => {
        const rows = [...document.querySelectorAll("[data-job-id]")];
        return rows.length === 1 && rows[0].getAttribute("data-job-id") === id;
      }, shared.first);
    },
  ],
  [
    "compare picker and keyboard-only form",
    async ({ page, url }) => {
      await page.goto(url + "/compare");
      await page.waitForSelector("text=Pick runs");
      await shot(page, "15-compare-picker");
      await page.goto(url + "/new");
      await page.click('[data-model="pi"]');
      // Tab from the samples field reaches seed and shards; Enter submits.
      await page.focus('[data-field="parameters.samples"]');
      await page.keyboard.press("Control+A");
      await page.keyboard.type("1000000");
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => document.activeElement?.getAttribute("data-field"));
      expect(focused === "seed", `Tab went to ${focused}, not seed`);
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/runs\//);
      await waitState(page, "SUCCEEDED", 120_000);
      await noteLatency(page);
      await shot(page, "16-run-pi");
    },
  ],
  [
    "a failed run shows its message and traceback",
    async ({ page, url }) => {
      await page.goto(url + "/new");
      await page.waitForSelector('[data-model="european_option"]');
      if (!(await page.$('[data-model="test_failing"]'))) throw new Error("the test model test_failing is not installed (tests/support)");
      await fillForm(page, "test_failing", {});
      await submitAndOpen(page);
      await waitState(page, "FAILED", 120_000);
      const msg = await page.textContent('[data-testid="failure"]');
      expect(/exploded on purpose/.test(msg), `failure card says: ${msg}`);
      const tb = await page.textContent('[data-testid="traceback"]');
      expect(/Traceback|ValueError/.test(tb), `no traceback: ${tb}`);
      // The logs are open next to the error.
      expect((await page.getAttribute('[data-testid="logs"]', "data-open")) === "true", "the failed run's logs are collapsed");
      await page.waitForSelector('[data-testid="logs-status"][data-connection="ended"]', { timeout: 30_000 });
      await shot(page, "17-run-failed");
    },
  ],
  [
    "live logs of a running job, and its shared view without Cancel",
    async ({ page, browser, url, pageErrors }) => {
      await page.goto(url + "/new");
      await fillForm(page, "pi", { samples: "10000000000" });
      const id = await submitAndOpen(page);
      await waitState(page, "RUNNING", 90_000);
      await openLogs(page);
      // Wait for the worker's block lines themselves, not for "more lines than before": the
      // first lines ("starting", the plan) come before any block, so a count-based wait raced.
      const blockLines = () =>
        page.$$eval('[data-testid="logs-view"] .log-line', (els) => els.map((e) => e.textContent).filter((t) => /^shard 0: \d+\/\d+ blocks/.test(t)));
      const moreBlockLines = (n) =>
        page.waitForFunction(
          (k) => [...document.querySelectorAll('[data-testid="logs-view"] .log-line')].filter((e) => /^shard 0: \d+\/\d+ blocks/.test(e.textContent)).length > k,
          n,
          { timeout: 60_000 },
        );
      await moreBlockLines(0);
      // New block lines arrive while it runs (the worker reports every few seconds).
      await moreBlockLines((await blockLines()).length);
      expect((await page.getAttribute('[data-testid="logs-status"]', "data-connection")) === "live", "the log stream is not live");
      await shot(page, "22-run-logs-live");
      // A network drop: the log stream comes back and the server's replay is not shown twice.
      try {
        await page.context().setOffline(true);
        await page.waitForSelector('[data-testid="logs-status"][data-connection="reconnecting"]', { timeout: 30_000 });
      } finally {
        await page.context().setOffline(false);
      }
      await page.waitForSelector('[data-testid="logs-status"][data-connection="live"]', { timeout: 30_000 });
      await moreBlockLines((await blockLines()).length);
      const blocks = await blockLines();
      expect(new Set(blocks).size === blocks.length, `lines shown twice after the reconnect: ${blocks.filter((b, i) => blocks.indexOf(b) !== i).slice(0, 3).join(" | ")}`);

      const link = await createShareLink(page, 0);
      const token = new URL(link).searchParams.get("share");
      await page.waitForSelector('[data-testid="share-links"] tr[data-link-state="active"] >> text=Never');
      const { ctx, page: viewer, calls } = await sharedContext(browser, pageErrors);
      try {
        await viewer.goto(link);
        await waitState(viewer, "RUNNING", 30_000);
        await expectReadOnly(viewer);
        await openLogs(viewer);
        await viewer.waitForFunction(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > 0, null, { timeout: 60_000 });
        const n = await logLineCount(viewer);
        await viewer.waitForFunction((k) => document.querySelectorAll('[data-testid="logs-view"] .log-line').length > k, n, { timeout: 60_000 });
        await shot(viewer, "23-shared-running");
        await expectShareTokenSent(calls, token);
        // The owner cancels: the shared view follows it to the end.
        await page.click('[data-testid="cancel"]');
        await waitState(page, "CANCELLED", 60_000);
        await waitState(viewer, "CANCELLED", 60_000);
      } finally {
        await ctx.close();
      }
      notes.push(`live log of ${id}: ${await logLineCount(page)} line(s) seen`);
    },
  ],
];

// ---- main -----------------------------------------------------------------------------

// A stray promise of a flow (e.g. of a page already closed) must not end the process before
// the stack is stopped: it would outlive this script.
process.on("unhandledRejection", (e) => log(`note: unhandled rejection: ${e?.message ?? e}`));

async function main() {
  let stack;
  let browser;
  let profile;
  const t0 = Date.now();
  try {
    stack = await startStack();
    log(`stack ready at ${stack.url} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    ({ browser, profile } = await launch());
    const ctx = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
    const pageErrors = [];
    const page = await newPage(ctx, pageErrors);
    for (const [name, fn] of flows) {
      if (ONLY && !name.includes(ONLY)) continue;
      const started = Date.now();
      const before = pageErrors.length;
      try {
        await fn({ page, browser, url: stack.url, pageErrors });
        if (pageErrors.length > before) throw new Error(`uncaught page errors: ${pageErrors.slice(before).join("; ")}`);
        results.push({ name, ok: true });
        log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (err) {
        results.push({ name, ok: false, err });
        log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n     ${String(err?.message ?? err).split("\n").join("\n     ")}`);
        const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
        await page.screenshot({ path: join(OUT, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
      }
    }
    await ctx.close();
  } catch (err) {
    results.push({ name: "setup", ok: false, err });
    log(`FAIL setup: ${err?.message ?? err}`);
  } finally {
    await browser?.close().catch(() => {});
    if (profile) rmSync(profile, { recursive: true, force: true });
    await stack?.stop().catch((e) => log(`stopping the stack failed: ${e}`));
  }
  if (latencies.length) {
    const sorted = [...latencies].sort((a, b) => a - b);
    notes.push(
      `state change in jobstore (job.updated_at) -> shown in the browser: ${latencies.join(", ")} ms ` +
        `(median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms)`,
    );
  }
  for (const n of notes) log(`note: ${n}`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  writeFileSync(join(OUT, "results.json"), JSON.stringify({ results: results.map((r) => ({ name: r.name, ok: r.ok, error: r.err ? String(r.err.message ?? r.err) : undefined })), notes }, null, 2));
  log(`screenshots in ${OUT}`);
  log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
