// Starts and stops the real embedded stack (python -m simlab.devstack: PostgreSQL, NATS,
// jobstore, runner with local workers, gateway serving web/dist) on a free port with a
// temporary state dir, and knows each stack's token (its state dir's `token`, as `make run`'s
// .simlab/token): the API calls of the flows send it, and each browser context signs in
// through a one-time login link, as a person does.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Where screenshots, downloads and stack logs go. */
export const OUT = resolve(process.env.SIMLAB_E2E_OUT ?? join(repo, "test-output/web"));
const PYTHON = resolve(repo, process.env.PYTHON ?? ".venv/bin/python");

// url -> the local user's token, for the stacks started here.
const tokens = new Map();

/** The local user's token of the stack at `url`: one started here, or the one running at
 * SIMLAB_E2E_URL (SIMLAB_E2E_TOKEN, which e2e/main.mjs passes on). */
export function tokenFor(url) {
  const token = tokens.get(url) ?? (url === process.env.SIMLAB_E2E_URL ? process.env.SIMLAB_E2E_TOKEN : undefined);
  if (!token) throw new Error(`no token for ${url}: set SIMLAB_E2E_TOKEN (the stack's .simlab/token)`);
  return token;
}

/** Signs `page`'s browser context in: asks for a one-time login link with the token and opens
 * it (the gateway sets the session cookie and redirects to the UI). */
export async function signIn(page, url) {
  const r = await fetch(`${url}/auth/login-link`, { method: "POST", headers: { authorization: `Bearer ${tokenFor(url)}` } });
  if (!r.ok) throw new Error(`POST /auth/login-link answered ${r.status}: ${await r.text()}`);
  const { url: link } = await r.json();
  await page.goto(link);
  if (new URL(page.url()).pathname !== "/") throw new Error(`the login link led to ${page.url()}`);
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

/**
 * Starts a stack whose output goes to OUT/<logName>; resolves once it serves / and gives
 * its URL and `stop()`. `keep` leaves its state dir behind for a look after the run.
 */
export async function startStack({ logName = "stack.log", keep = false } = {}) {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: run 'make venv' first`);
  if (!existsSync(join(repo, "web/dist/index.html"))) throw new Error("web/dist is missing: run 'make web-build' first");
  mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simlab-e2e-"));
  const logFile = createWriteStream(join(OUT, logName));
  const child = spawn(PYTHON, ["-m", "simlab.devstack", "--state-dir", join(state, "state"), "--port", String(port)], {
    cwd: repo,
    env: { ...process.env, SIMLAB_PORT: String(port), PYTHONUNBUFFERED: "1", ...testModelsEnv() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited = null;
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the stack did not print 'ready' within 180 s (see ${logName})`)), 180_000);
    const onData = (buf) => {
      logFile.write(buf);
      // The devstack's own last line ("simlab ready at http://..."), not a service's "ready".
      if (/\bready at http/.test(buf.toString())) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code, sig) => {
      exited = { code, sig };
      clearTimeout(timer);
      rej(new Error(`the stack exited early (code ${code}, signal ${sig}); see ${join(OUT, logName)}`));
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
        console.log("the stack did not stop within 120 s: killing it");
        child.kill("SIGKILL");
      }, 120_000);
      await done;
      clearTimeout(t);
      console.log(`stack stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    logFile.end();
    if (!keep) rmSync(state, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await ready;
    tokens.set(url, readFileSync(join(state, "state", "token"), "utf8").trim());
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
  return { url, token: tokens.get(url), stop };
}
