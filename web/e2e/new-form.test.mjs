// The New simulation form: field errors, presets, the keyboard alone; and the Compare picker.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { fillForm, noteLatency, shot, waitState } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

flow("new simulation: invalid value shows the field error (client and server)", async ({ page, url }) => {
  await page.goto(url + "/new");
  await page.waitForSelector('[data-model="european_option"]');
  await fillForm(page, "european_option", { spot: "-1", strike: "100" });
  await page.press('[data-field="parameters.spot"]', "Tab");
  const err = await page.waitForSelector('[data-testid="error-parameters.spot"]');
  const text = await err.textContent();
  assert.ok(text.includes("must be > 0 (got -1)"), `client error was: ${text}`);
  assert.ok((await page.getAttribute('[data-field="parameters.spot"]', "aria-invalid")) === "true", "spot is not aria-invalid");
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
  assert.ok(/must be <=/.test(stext), `server error at shards was: ${stext}`);
  assert.ok(new URL(page.url()).pathname === "/new", "navigated away despite the server error");
  await shot(page, "03-new-server-error");
});

flow("presets: save the form, load it later", async ({ page, url }) => {
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
  assert.ok((await page.inputValue('[data-field="parameters.volatility"]')) === "0.35", "volatility not restored");
  await shot(page, "04-new-preset-loaded");
});

flow("compare picker and keyboard-only form", async ({ page, url, note }) => {
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
  assert.ok(focused === "seed", `Tab went to ${focused}, not seed`);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/runs\//);
  await waitState(page, "SUCCEEDED", 120_000);
  await noteLatency(page, note);
  await shot(page, "16-run-pi");
});
