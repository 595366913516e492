// Local sign-in: a browser that has not opened a login link is nobody; the link sets an
// HttpOnly, SameSite=Strict session cookie that the UI's gRPC-Web calls (connect-web's
// fetch, same origin) send; the link works once.
import assert from "node:assert/strict";
import { e2eFile, newPage, VIEWPORT } from "./support/flow.mjs";
import { shot } from "./support/helpers.mjs";
import { tokenFor } from "./support/stack.mjs";

const flow = e2eFile(import.meta.url);

/** The grpc-status of a finished gRPC-Web response: in its headers (trailers-only) or in the
 * trailer frame (flag 0x80) that ends its body. */
async function grpcStatus(response) {
  const inHeaders = (await response.allHeaders())["grpc-status"];
  if (inHeaders !== undefined) return inHeaders;
  const body = await response.body();
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    if (body[at] & 0x80) return /grpc-status:\s*(\d+)/i.exec(body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)).toString())?.[1] ?? "?";
  }
  return "?";
}

/** The unary gRPC-Web calls a page makes: method, whether the cookie went along, grpc-status. */
function recordCalls(page) {
  const calls = [];
  page.on("requestfinished", (r) => {
    if (!r.url().includes("/simlab.v1.SimulationService/")) return;
    calls.push(
      Promise.all([r.allHeaders(), r.response().then(grpcStatus)])
        .then(([sent, status]) => ({ method: r.url().split("/").pop(), cookie: sent.cookie ?? "", status }))
        .catch(() => null),
    );
  });
  return async () => (await Promise.all(calls)).filter(Boolean);
}

flow("sign-in: no cookie is nobody; the login link signs in once; the UI's calls send the cookie", async ({ browser, url, pageErrors }) => {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await newPage(ctx, pageErrors);
    const before = recordCalls(page);
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.body.innerText.includes("simlab login --web"), null, { timeout: 30_000 });
    await shot(page, "00-not-signed-in");
    const refused = await before();
    assert.ok(refused.length > 0 && refused.every((c) => c.status === "16"), `calls without a session: ${JSON.stringify(refused)}`);

    const r = await fetch(`${url}/auth/login-link`, { method: "POST", headers: { authorization: `Bearer ${tokenFor(url)}` } });
    const { url: link } = await r.json();
    await page.goto(link);
    assert.equal(new URL(page.url()).pathname, "/");
    const [cookie] = (await ctx.cookies(url)).filter((c) => c.name === "simlab_session");
    assert.ok(cookie, "no simlab_session cookie");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.path, "/");
    assert.ok(!(await page.evaluate(() => document.cookie)).includes("simlab_session"), "scripts can read the session");

    const after = recordCalls(page);
    await page.reload();
    await page.waitForSelector('nav[aria-label="Main"]');
    await page.waitForLoadState("networkidle");
    const signedIn = await after();
    assert.ok(signedIn.length > 0, "the UI made no API calls");
    for (const c of signedIn) {
      assert.ok(c.cookie.includes("simlab_session="), `${c.method} went without the cookie`);
      assert.equal(c.status, "0", `${c.method} answered grpc-status ${c.status}`);
    }

    // The link was used: opening it again signs nobody in.
    const other = await browser.newContext({ viewport: VIEWPORT });
    try {
      const again = await (await other.newPage()).goto(link);
      assert.equal(again.status(), 401);
      assert.equal((await other.cookies(url)).length, 0);
    } finally {
      await other.close();
    }
  } finally {
    await ctx.close();
  }
});
