// Steps the flows share: the API calls that make a flow's own data, and what the flows do
// and check on pages.
import assert from "node:assert/strict";
import { join } from "node:path";
import { OUT, tokenFor } from "./stack.mjs";
import { VIEWPORT, newPage } from "./flow.mjs";

// ---- API (Connect JSON over HTTP, as the gateway serves it) ------------------------------

async function rpc(url, method, body) {
  const r = await fetch(`${url}/simlab.v1.SimulationService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${tokenFor(url)}` },
    body: JSON.stringify(body),
  });
  const answer = await r.json();
  if (!r.ok) throw new Error(`${method} answered ${r.status}: ${answer.code}: ${answer.message}`);
  return answer;
}

/** Submits a job and returns its id. */
export async function submitJob(url, model, parameters, { seed = 0, shards = 0 } = {}) {
  const res = await rpc(url, "SubmitJob", { model, parameters, seed: String(seed), shards });
  return res.job.jobId;
}

export async function cancelJob(url, jobId) {
  await rpc(url, "CancelJob", { jobId });
}

/** Waits until the job is in one of `states` (e.g. "SUCCEEDED"). */
export async function waitJob(url, jobId, states, timeout = 180_000) {
  const want = (Array.isArray(states) ? states : [states]).map((s) => `JOB_STATE_${s}`);
  const until = Date.now() + timeout;
  for (;;) {
    const job = await rpc(url, "GetJob", { jobId });
    if (want.includes(job.state)) return job;
    if (Date.now() > until) throw new Error(`job ${jobId} is ${job.state}, not ${want.join("/")}, after ${timeout / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A finished European option run (20 blocks, so it has a convergence curve). */
export async function finishedOptionRun(url, { volatility = 0.2, seed = 7 } = {}) {
  const id = await submitJob(url, "european_option", { spot: 100, strike: 105, volatility, paths: 2_000_000 }, { seed });
  await waitJob(url, id, "SUCCEEDED");
  return id;
}

// ---- pages ---------------------------------------------------------------------------

export async function shot(page, name) {
  // Full-page shots of a scrolled page draw the sticky header mid-page: start from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(250);
  // A page that streams (live logs) may take a while to give a stable full-page frame when
  // the machine is busy: a picture is evidence, not a check, so it gets more than 30 s.
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true, timeout: 90_000 });
}

export async function fillForm(page, model, values) {
  await page.click(`[data-model="${model}"]`);
  await page.waitForSelector(`#form-title`);
  for (const [name, v] of Object.entries(values)) {
    const sel = name === "seed" || name === "shards" ? `[data-field="${name}"]` : `[data-field="parameters.${name}"]`;
    await page.fill(sel, String(v));
  }
}

export async function submitAndOpen(page) {
  await page.click('[data-testid="submit"]');
  await page.waitForURL(/\/runs\/[^/]+$/, { timeout: 30_000 });
  await page.waitForSelector('[data-testid="run-page"]');
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
}

export async function waitState(page, states, timeout = 120_000) {
  const want = Array.isArray(states) ? states : [states];
  await page.waitForFunction(
    (w) => w.includes(document.querySelector('[data-testid="run-page"]')?.getAttribute("data-state")),
    want,
    { timeout, polling: 100 },
  );
  return page.getAttribute('[data-testid="run-page"]', "data-state");
}

/** Notes how long the last state change took from the job store to the page. */
export async function noteLatency(page, note) {
  const v = await page.getAttribute('[data-testid="run-page"]', "data-latency-ms");
  if (v !== null) note(`state change in jobstore (job.updated_at) -> shown in the browser: ${v} ms`);
}

export async function progressValue(page) {
  const v = await page.getAttribute('[data-testid="progress"]', "aria-valuenow");
  return v === null ? NaN : Number(v);
}

/** Owner side: open the Share panel of the run shown, create a link, return its URL. */
export async function createShareLink(page, expirySeconds) {
  if (!(await page.$('[data-testid="share-panel"]'))) await page.click('[data-testid="share"]');
  await page.waitForSelector('[data-testid="share-panel"]');
  await page.selectOption('[data-testid="share-expiry"]', String(expirySeconds));
  await page.click('[data-testid="share-create"]');
  const input = await page.waitForSelector('[data-testid="share-url"]');
  const link = await input.inputValue();
  assert.ok(/\/runs\/[^/?]+\?share=simlab_share_/.test(link), `share URL looks wrong: ${link}`);
  return link;
}

/** A fresh browser context (no storage, no cookies) that records the Authorization header
 * of every API call, to prove the shared page really sends the link's token. */
export async function sharedContext(browser, pageErrors) {
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

export async function expectReadOnly(page) {
  await page.waitForSelector('[data-testid="shared-badge"]');
  for (const sel of ['[data-testid="cancel"]', '[data-testid="run-again"]', '[data-testid="share"]', 'nav[aria-label="Main"]', 'nav[aria-label="Breadcrumb"]']) {
    assert.ok((await page.$(sel)) === null, `the shared view shows ${sel}`);
  }
}

export async function expectShareTokenSent(calls, token) {
  const seen = await calls();
  assert.ok(seen.length > 0, "the shared page made no API calls");
  const bad = seen.filter((c) => c.auth !== `Bearer ${token}`);
  assert.ok(bad.length === 0, `calls without the share token: ${bad.map((c) => `${c.method} (${c.auth || "no Authorization"})`).join(", ")}`);
  return new Set(seen.map((c) => c.method));
}

export async function openLogs(page) {
  if ((await page.getAttribute('[data-testid="logs"]', "data-open")) !== "true") await page.click('[data-testid="logs-toggle"]');
  await page.waitForSelector('[data-testid="logs-view"]');
}

export async function logLineCount(page) {
  return page.evaluate(() => document.querySelectorAll('[data-testid="logs-view"] .log-line').length);
}
