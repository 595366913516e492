#!/usr/bin/env node
// Measures the Study page with a synthetic study in headless chromium: the production build
// of the app (vite build, with perf/study-page.html as an extra entry that feeds the real page
// from an in-browser fake of the gateway), then prints how long it takes to show every point,
// the JS heap, how many rows are in the DOM, the main thread's long tasks while points keep
// arriving, and how long a sort, a scroll and a switch of chart take.
//
//   node perf/study-page.mjs [--points 10000] [--per-second 250]     (make web-perf)
// Screenshots go to $SIMLAB_E2E_OUT (default: the temporary directory).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, preview } from "vite";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
};
const POINTS = opt("--points", 10_000);
const PER_SECOND = opt("--per-second", 250);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const outDir = mkdtempSync(join(tmpdir(), "simlab-perf-"));
const t0 = Date.now();
await build({
  root: web,
  configFile: join(web, "vite.config.ts"),
  logLevel: "warn",
  build: { outDir, emptyOutDir: true, rollupOptions: { input: { perf: join(here, "study-page.html") } } },
});
console.log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const server = await preview({ root: web, configFile: join(web, "vite.config.ts"), logLevel: "warn", build: { outDir }, preview: { port: 0, host: "127.0.0.1" } });
const base = server.resolvedUrls.local[0];

const profile = mkdtempSync(join(tmpdir(), "simlab-perf-chromium-"));
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  env: { ...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile },
});
const rows = [];
const row = (what, value) => rows.push([what, value]);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration })))).observe({ type: "longtask", buffered: true });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { heapMB: m.JSHeapUsedSize / 2 ** 20, nodes: m.Nodes };
  };
  const now = () => page.evaluate(() => performance.now());
  const longTasks = (from, to) =>
    page.evaluate(([a, b]) => window.__longTasks.filter((t) => t.start >= a && t.start < b).map((t) => t.duration), [from, to]);
  const fmtMs = (ms) => `${Math.round(ms)} ms`;

  await page.goto(`${base}perf/study-page.html?points=${POINTS}&perSecond=${PER_SECOND}`);
  await page.waitForSelector("[data-point-index]", { timeout: 120_000 });
  row("first rows shown (since navigation start)", fmtMs(await now()));
  await page.waitForSelector(`[data-testid="points-table"][aria-rowcount="${POINTS + 1}"]`, { timeout: 120_000 });
  await page.waitForSelector('[data-testid="study-heatmap"][data-chart-state="ready"]', { timeout: 120_000 });
  const loaded = await now();
  row(`all ${POINTS.toLocaleString("en-US")} points in the table and the heatmap drawn`, fmtMs(loaded));
  const snapshotSent = await page.evaluate(() => window.__snapshotSent);
  row("  of which after the last snapshot page arrived", fmtMs(loaded - snapshotSent));
  const loadTasks = await longTasks(0, loaded);
  row("long tasks while loading (count / longest / total time)", `${loadTasks.length} / ${fmtMs(Math.max(0, ...loadTasks))} / ${fmtMs(loadTasks.reduce((a, b) => a + b, 0))}`);
  const shots = process.env.SIMLAB_E2E_OUT ?? tmpdir();
  await page.screenshot({ path: join(shots, "study-perf-heatmap.png") });
  const h1 = await heap();
  row("JS heap after load (after GC)", `${h1.heapMB.toFixed(1)} MB`);
  row("table rows in the DOM / DOM nodes", `${await page.locator("[data-point-index]").count()} / ${h1.nodes}`);

  // Live: PER_SECOND points finish every second; the page takes them in once a second.
  const liveFrom = await now();
  await page.waitForTimeout(4_000);
  const sort = await page.evaluate(async () => {
    const table = document.querySelector('[data-testid="points-table"]');
    const before = table.getAttribute("data-sort");
    const t = performance.now();
    document.querySelector('[data-testid="sort-estimate"]').click();
    while (table.getAttribute("data-sort") === before) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t;
  });
  row(`sort ${POINTS.toLocaleString("en-US")} rows by estimate (click to next frame), while updating`, fmtMs(sort));
  const scroll = await page.evaluate(async () => {
    const box = document.querySelector('[data-testid="points-scroll"]');
    const first = () => document.querySelector("[data-point-index]")?.getAttribute("data-point-index");
    const before = first();
    const t = performance.now();
    box.scrollTop = box.scrollHeight / 2;
    while (first() === before) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    return performance.now() - t;
  });
  row("scroll to the middle (to next frame with the new rows)", fmtMs(scroll));
  await page.waitForTimeout(2_000);
  const liveTo = await now();
  const liveTasks = await longTasks(liveFrom, liveTo);
  row(
    `long tasks over ${((liveTo - liveFrom) / 1000).toFixed(1)} s of live updates, heatmap (${PER_SECOND} points/s)`,
    `${liveTasks.length} / ${fmtMs(Math.max(0, ...liveTasks))} / ${fmtMs(liveTasks.reduce((a, b) => a + b, 0))}`,
  );

  const t = await now();
  await page.click('[data-testid="chart-view-line"]');
  await page.waitForSelector('[data-testid="study-chart"][data-chart-state="ready"]', { timeout: 120_000 });
  const lineFrom = await now();
  row(`switch to the line chart (a cloud of ${POINTS.toLocaleString("en-US")} dots)`, fmtMs(lineFrom - t));
  await page.waitForTimeout(6_000);
  const lineTo = await now();
  const stillRunning = (await page.getAttribute('[data-testid="study-page"]', "data-state")) === "RUNNING";
  const lineTasks = await longTasks(lineFrom, lineTo);
  row(
    `long tasks over ${((lineTo - lineFrom) / 1000).toFixed(1)} s of live updates in the line chart${stillRunning ? "" : " (study ended meanwhile)"}`,
    `${lineTasks.length} / ${fmtMs(Math.max(0, ...lineTasks))} / ${fmtMs(lineTasks.reduce((a, b) => a + b, 0))}`,
  );

  await page.waitForSelector('[data-testid="study-page"][data-state="SUCCEEDED"]', { timeout: 120_000 });
  const h2 = await heap();
  row("JS heap once the study ended (after GC)", `${h2.heapMB.toFixed(1)} MB`);
  await page.screenshot({ path: join(shots, "study-perf-line.png"), fullPage: true });
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}
const width = Math.max(...rows.map(([w]) => w.length));
console.log(`\nStudy page, ${POINTS.toLocaleString("en-US")} synthetic points (production build, headless chromium)`);
for (const [w, v] of rows) console.log(`  ${w.padEnd(width)}  ${v}`);
