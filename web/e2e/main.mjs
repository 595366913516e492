#!/usr/bin/env node
// Runs the browser end-to-end tests (node:test files in e2e/, one per flow or small group)
// against one real embedded stack started here for the whole run, in Debian's
// /usr/bin/chromium driven by playwright-core. Screenshots of every page go to --out.
//
//   node e2e/main.mjs [--out DIR] [--python PATH] [--keep] [node --test options] [files]
//   SIMLAB_E2E_URL=http://127.0.0.1:8080 SIMLAB_E2E_TOKEN=$(cat .simlab/token) node e2e/main.mjs
//                                                            # against a stack already running
//   node --test e2e/share.test.mjs                           # one file, with a stack of its own
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : undefined;
};
// The rest goes to node --test (e.g. --test-name-pattern=share, or some of the files).
const passOn = args.filter((a, i) => !["--out", "--python", "--keep"].includes(a) && !["--out", "--python"].includes(args[i - 1]));
// Read by support/stack.mjs here and in each test file's process.
if (opt("--out")) process.env.SIMLAB_E2E_OUT = resolve(opt("--out"));
if (opt("--python")) process.env.PYTHON = resolve(opt("--python"));
const { OUT, startStack } = await import("./support/stack.mjs");

mkdirSync(OUT, { recursive: true });
// Screenshots of an earlier run would be mistaken for this one's.
for (const f of readdirSync(OUT)) if (f.endsWith(".png")) rmSync(join(OUT, f), { force: true });

const t0 = Date.now();
let stack = { url: process.env.SIMLAB_E2E_URL, token: process.env.SIMLAB_E2E_TOKEN, stop: async () => {} };
const ownStack = !stack.url;
if (ownStack) {
  stack = await startStack({ keep: args.includes("--keep") });
  console.log(`stack ready at ${stack.url} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
// Files that need a stack nobody has submitted to run first, on the stack started here (one
// given by SIMLAB_E2E_URL may have runs: they then start their own); then the rest.
const PRISTINE = ["runs-empty.test.mjs"];
const nodeTest = (testArgs, env = {}) => {
  // The flows are independent, but their long runs are CPU-bound: on a small machine files at
  // once only slow each other (3 at once took 214 s on 2 cores, 1 at a time 176 s).
  // SIMLAB_E2E_CONCURRENCY=n runs n files at once on a bigger one.
  const concurrency = process.env.SIMLAB_E2E_CONCURRENCY ?? "1";
  const child = spawn(process.execPath, ["--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...testArgs], {
    env: { ...process.env, SIMLAB_E2E_URL: stack.url, SIMLAB_E2E_TOKEN: stack.token ?? "", ...env },
    stdio: "inherit",
  });
  return new Promise((res) => child.once("exit", (c, sig) => res(c ?? (sig ? 1 : 0))));
};
let code = 1;
try {
  const options = passOn.filter((a) => a.startsWith("-"));
  if (passOn.length > options.length) {
    code = await nodeTest(passOn);
  } else {
    const files = readdirSync(here).filter((f) => f.endsWith(".test.mjs"));
    const first = await nodeTest([...options, ...files.filter((f) => PRISTINE.includes(f)).map((f) => join(here, f))], { SIMLAB_E2E_PRISTINE: ownStack ? "1" : "" });
    const rest = await nodeTest([...options, ...files.filter((f) => !PRISTINE.includes(f)).map((f) => join(here, f))]);
    code = first || rest;
  }
} finally {
  await stack.stop().catch((e) => console.log(`stopping the stack failed: ${e}`));
}
console.log(`screenshots in ${OUT}`);
process.exit(code);
