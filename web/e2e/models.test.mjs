// Users' own code: push a model from the Models page, see what registration inferred, run it
// from there; and code that does not compile, refused with its line marked.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { noteLatency, shot, submitAndOpen, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

// Function form: the platform adds `samples` and runs it in blocks; the mean is scale / 2.
const SCALED = `"""Scaled uniform: scale times a uniform draw."""


def simulate(rng, n, *, scale: float = 2.0):
    return scale * rng.random(n)
`;

// The colon after the signature is missing: Python's SyntaxError is on line 4.
const BROKEN = `"""Does not compile."""


def simulate(rng, n, *, scale: float = 2.0)
    return scale * rng.random(n)
`;

/** A name no earlier run of this file (on a stack given by SIMLAB_E2E_URL) has taken. */
const uniqueName = (stem) => `${stem}_${Date.now().toString(36)}`;

async function pushPasted(page, url, name, code) {
  await page.goto(url + "/models");
  await page.waitForSelector('[data-testid="models-table"]');
  await page.fill('[data-testid="upload-code"]', code);
  await page.fill('[data-testid="upload-name"]', name);
  await page.click('[data-testid="upload-submit"]');
}

/** Waits for the push to end; fails at once (with what the page says) if it ended the other
 * way than `want` ("push-ref": registered, "push-error": refused). */
async function pushOutcome(page, want) {
  const el = await page.waitForSelector('[data-testid="push-ref"], [data-testid="push-error"]', { timeout: 180_000 });
  const got = await el.getAttribute("data-testid");
  if (got !== want) assert.fail(`the push ended with ${got}, not ${want}: ${await el.textContent()}`);
  return el;
}

flow("models: push a function-form model, see v1 and its schema, run it from the page", async ({ page, url, note }) => {
  const name = uniqueName("e2e_scaled");
  const t0 = Date.now();
  await pushPasted(page, url, name, SCALED);
  // Registration runs a sandboxed worker: seconds, shown as progress meanwhile.
  const ref = await pushOutcome(page, "push-ref");
  note(`push to registered: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await ref.textContent(), `${name}@v1`);
  assert.ok(await page.$('[data-testid="push-created"]'), "the push did not say it made a new version");
  const result = '[data-testid="push-result"] [data-testid="schema-params"]';
  const scale = await page.textContent(`${result} tr[data-param="scale"]`);
  assert.match(scale, /float/, `the scale row is ${scale}`);
  assert.equal(await page.textContent(`${result} [data-testid="default-scale"]`), "2");
  assert.ok(await page.$(`${result} tr[data-param="samples"]`), "the platform's samples parameter is missing");
  assert.ok(await page.$('[data-testid="push-result"] [data-testid="schema-outputs"] tr[data-output="value"]'), "the output 'value' is missing");
  // The list was reloaded with it; its versions open below it.
  const row = `[data-testid="model-row-${name}"]`;
  await page.waitForSelector(row);
  assert.equal(await page.textContent(`${row} [data-testid="model-latest"]`), "v1");
  await page.click(`[data-testid="model-toggle-${name}"]`);
  await page.waitForSelector(`[data-testid="version-${name}@v1"]`);
  const sha = await page.getAttribute(`[data-testid="sha-${name}@v1"]`, "data-sha");
  assert.match(sha, /^[0-9a-f]{64}$/, `sha256 shown: ${sha}`);
  await shot(page, "20-models-pushed");

  // Run it from the page: the form is that version's.
  await page.click('[data-testid="push-run"]');
  await page.waitForURL(/\/new\?model=/);
  await page.waitForFunction((want) => document.querySelector('[data-testid="form-model-ref"]')?.textContent === want, `${name}@v1`);
  await page.fill('[data-field="parameters.samples"]', "200000");
  await page.fill('[data-field="seed"]', "11");
  const jobId = await submitAndOpen(page);
  const state = await waitState(page, ["SUCCEEDED", "FAILED"], 180_000);
  if (state !== "SUCCEEDED") assert.fail(`the run ${jobId} FAILED: ${await page.textContent('[data-testid="failure"]')}`);
  await noteLatency(page, note);
  const estimate = Number((await page.textContent('[data-testid="estimate"]')).replace(/,/g, ""));
  // Mean of 2 * U(0, 1) is 1; its standard error with 200 000 samples is about 0.0013.
  assert.ok(Math.abs(estimate - 1) < 0.01, `estimate ${estimate} is not near scale / 2 = 1`);
  assert.equal(await page.textContent('[data-testid="run-model-ref"]'), `${name}@v1`);
  assert.equal(await page.getAttribute('[data-testid="run-code-sha"]', "data-sha"), sha);
  const href = await page.getAttribute('[data-testid="download-code"]', "href");
  assert.equal(href, `/code/jobs/${jobId}`);
  const tar = await page.evaluate(async (h) => {
    const r = await fetch(h);
    return { status: r.status, disposition: r.headers.get("content-disposition") ?? "", size: (await r.arrayBuffer()).byteLength };
  }, href);
  assert.equal(tar.status, 200, `GET ${href} answered ${tar.status}`);
  assert.ok(tar.disposition.includes(`${name}@v1.tar`), `Content-Disposition: ${tar.disposition}`);
  assert.ok(tar.size > 0 && tar.size % 512 === 0, `the bundle is not a tar (${tar.size} bytes)`);
  await shot(page, "21-models-run");
});

flow("models: code with a syntax error is refused with its line marked", async ({ page, url }) => {
  const name = uniqueName("e2e_broken");
  await pushPasted(page, url, name, BROKEN);
  const err = await pushOutcome(page, "push-error");
  const text = await err.textContent();
  assert.match(text, /model\.py:4:/, `the message was: ${text}`);
  const line = await page.waitForSelector('[data-testid="error-line"]');
  assert.equal(await line.getAttribute("data-line"), "4");
  assert.match(await line.textContent(), /def simulate\(rng, n, \*, scale: float = 2\.0\)\s*$/);
  await shot(page, "22-models-syntax-error");
  // Nothing half-registered: the name is not listed.
  await page.reload();
  await page.waitForSelector('[data-testid="models-table"]');
  assert.equal(await page.$(`[data-testid="model-row-${name}"]`), null, `${name} is listed after a failed push`);
});
