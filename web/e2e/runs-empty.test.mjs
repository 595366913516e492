// The runs list of a stack nobody has submitted to (e2e/main.mjs runs this file first).
import { e2eFile } from "./support/flow.mjs";
import { shot } from "./support/helpers.mjs";

const flow = e2eFile(import.meta.url, { pristine: true });

flow("runs list: empty state", async ({ page, url }) => {
  await page.goto(url + "/");
  await page.waitForSelector("text=No runs yet");
  await shot(page, "01-runs-empty");
});
