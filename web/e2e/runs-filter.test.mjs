// The runs list's filters and id search, on runs this flow makes: a cancelled pi run and a
// European option run. Other flows' runs may be listed too, so the checks are about these.
import assert from "node:assert/strict";
import { e2eFile } from "./support/flow.mjs";
import { cancelJob, shot, submitJob, waitJob } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url);

const rowIds = (page) => page.$$eval("[data-job-id]", (rows) => rows.map((r) => r.getAttribute("data-job-id")));

flow("runs list: filter by model and status, search by id", async ({ page, url }) => {
  const pi = await submitJob(url, "pi", { samples: 10_000_000_000 });
  await cancelJob(url, pi);
  await waitJob(url, pi, "CANCELLED", 60_000);
  const option = await submitJob(url, "european_option", { spot: 100, strike: 105, paths: 1_000_000 });

  await page.goto(url + "/");
  await page.waitForSelector('[data-testid="runs-table"]');
  await page.waitForSelector(`tr[data-job-id="${option}"]`);
  await page.selectOption("#filter-model", "pi");
  await page.waitForFunction(
    ([p, o]) => {
      const ids = [...document.querySelectorAll("[data-job-id]")].map((r) => r.getAttribute("data-job-id"));
      return ids.includes(p) && !ids.includes(o);
    },
    [pi, option],
  );
  const title = await page.$eval("#filter-model option:checked", (o) => o.textContent);
  const models = await page.$$eval("[data-job-id] .cell-title", (cells) => cells.map((c) => c.textContent));
  assert.ok(models.every((m) => m === title), `the pi filter lists other models: ${models.join(", ")}`);
  // The cancelled pi run is not a succeeded one: with its id searched, nothing matches.
  await page.click('.chips >> text="Succeeded"');
  await page.waitForFunction((p) => !document.querySelector(`tr[data-job-id="${p}"]`), pi);
  await page.fill("#filter-search", pi);
  await page.waitForSelector("text=No runs match these filters");
  await shot(page, "14-runs-filtered-empty");
  await page.click("text=Clear filters");
  // Not the start of any id: the server says so, at the search field.
  await page.fill("#filter-search", "zz");
  const searchError = await page.waitForSelector('[data-testid="error-search"]');
  assert.ok(/job_id_prefix|hex digits/.test(await searchError.textContent()), "no hint that an id is hex digits");
  assert.ok((await page.getAttribute("#filter-search", "aria-invalid")) === "true", "the search field is not aria-invalid");
  await shot(page, "14b-runs-search-invalid");
  await page.fill("#filter-search", option.slice(0, 6).toUpperCase());
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll("[data-job-id]")];
    return rows.length === 1 && rows[0].getAttribute("data-job-id") === id;
  }, option);
  assert.deepEqual(await rowIds(page), [option]);
});
