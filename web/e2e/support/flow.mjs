// What every e2e test file shares: one stack and one headless chromium per file, and a
// fresh browser context and page per flow, so no flow sees another's cookies, storage or
// page. The stack is the one e2e/main.mjs started for the whole run (SIMLAB_E2E_URL), or,
// when a file runs alone (node --test e2e/x.test.mjs), one of its own. A file that needs a
// stack nobody has submitted to is run by main.mjs before the others (SIMLAB_E2E_PRISTINE).
import { after, before, test } from "node:test";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { OUT, signIn, startStack } from "./stack.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const VIEWPORT = { width: 1280, height: 800 };

// A stray promise of a flow (e.g. of a page already closed) must not end the process before
// a stack of its own is stopped: it would outlive this file.
process.on("unhandledRejection", (e) => console.log(`note: unhandled rejection: ${e?.message ?? e}`));

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

/** A page that records uncaught errors into `pageErrors` and accepts dialogs (confirm). */
export async function newPage(ctx, pageErrors) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("dialog", (d) => void d.accept());
  return page;
}

/**
 * Sets up this test file (stack, chromium) and returns `flow(name, fn)`, which declares a
 * test that gets `{ page, browser, url, pageErrors, note }` with a page of its own, signed
 * in through a login link (a fresh context of its own is not: a share link's view), fails
 * on an uncaught page error, and leaves a FAILED-<name>.png screenshot when it fails.
 * `pristine`: this file needs a stack nobody has submitted to (main.mjs runs it first;
 * otherwise it starts its own).
 */
export function e2eFile(fileUrl, { pristine = false } = {}) {
  const env = {};
  before(async () => {
    const shared = process.env.SIMLAB_E2E_URL;
    const freshStack = pristine && process.env.SIMLAB_E2E_PRISTINE !== "1";
    const name = basename(new URL(fileUrl).pathname, ".test.mjs");
    env.stack = shared && !freshStack ? { url: shared, stop: async () => {} } : await startStack({ logName: `stack-${name}.log` });
    Object.assign(env, await launch());
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    if (env.profile) rmSync(env.profile, { recursive: true, force: true });
    await env.stack?.stop().catch((e) => console.log(`stopping the stack failed: ${e}`));
  });
  return (name, fn) =>
    test(name, async (t) => {
      const pageErrors = [];
      const ctx = await env.browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
      const page = await newPage(ctx, pageErrors);
      try {
        await signIn(page, env.stack.url);
        await fn({ page, browser: env.browser, url: env.stack.url, pageErrors, note: (s) => t.diagnostic(s) });
        if (pageErrors.length) throw new Error(`uncaught page errors: ${pageErrors.join("; ")}`);
      } catch (err) {
        const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
        await page.screenshot({ path: join(OUT, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
        throw err;
      } finally {
        await ctx.close();
      }
    });
}
