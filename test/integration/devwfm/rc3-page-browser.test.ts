/**
 * The status page in a real browser (issue 16, item 9): headless Chromium
 * (Debian's `chromium`) at 1200 px wide. The per-client tables must not run
 * off the right edge, with long SPIFFE IDs, UUIDs and error messages that
 * have no spaces to break at; deployments show their names and application
 * ids; a failing deployment that is being retried shows its last error.
 *
 * The page carries no scripts, so the measuring script is added to a copy of
 * the exact HTML the dev WFM served (its CSS is inline, nothing else is
 * loaded), which Chromium renders from a file; --dump-dom returns the result
 * the script wrote into the DOM. A screenshot is taken too (its path is
 * printed). Without chromium the test is skipped, except under CI=true.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { writeFile } from "./helpers.ts";
import { anonymousFetch, postJson, rc3Client, rc3Deployment, rc3Env, MANIFEST_TYPE, type Rc3Env } from "./rc3-helpers.ts";

const CHROMIUM = Bun.which("chromium") ?? Bun.which("chromium-browser");
if (CHROMIUM === null && process.env.CI === "true") throw new Error("CI=true but chromium is not installed (apt-get install -y chromium)");
if (CHROMIUM === null) console.warn("skipping the dev WFM page browser test: chromium is not installed (apt-get install -y chromium)");

const WIDTH = 1200;
const LONG_ID = "9b2f7e4c-1a3d-4e5f-8a9b-0c1d2e3f4a5b";
const LONG_CLIENT = `line-7-cell-4-press-controller-${"x".repeat(40)}`;
const LONG_MESSAGE = `compose up failed: /var/lib/margo-agent/deployments/${LONG_ID}/components/web/compose.yaml:services.web.image=registry.example.com/${"very-long-organisation-name/".repeat(6)}web:1.2.3-not-found`;

let env: Rc3Env;
let wfm: StartedDevWfm;
let work: string;

beforeAll(async () => {
  env = rc3Env();
  work = mkdtempSync(path.join(tmpdir(), "dev-wfm-browser-"));
  writeFile(env.dir, "press.yaml", rc3Deployment(LONG_ID, { name: "press-line-monitor", applicationId: "press-line-monitor-suite" }));
  writeFile(env.dir, "hello.yaml", rc3Deployment("d-hello", { name: "hello-world", applicationId: "hello-world" }));
  wfm = await import("./rc3-helpers.ts").then((m) => m.startRc3(env));
  for (const name of [LONG_CLIENT, "device-2"]) {
    const client = await rc3Client(wfm, env, name);
    await client.fetch("/api/v1/deployments", { headers: { Accept: MANIFEST_TYPE } });
    const report = (id: string, state: string, error?: { code: string; message: string }) =>
      postJson(client, `/api/v1/deployments/${id}/status`, {
        deploymentId: id,
        adoptedManifestVersion: 1,
        status: error ? { state, error: { ...error, source: "press-line-monitor" } } : { state },
        components: [
          { name: "web", state, ...(error ? { error: { ...error, source: "web" } } : {}) },
          { name: "collector-with-a-rather-long-component-name", state: state === "failed" ? "installed" : state },
        ],
      });
    const sent = [await report(LONG_ID, "installing"), await report(LONG_ID, "failed", { code: "COMPONENT_APPLY_FAILED", message: LONG_MESSAGE }), await report("d-hello", "installed")];
    // The long-named client retries (its row goes back to installing); device-2's stays failed.
    if (name === LONG_CLIENT) sent.push(await report(LONG_ID, "installing"));
    for (const r of sent) expect(r.status).toBeOneOf([200, 201]);
  }
});
afterAll(async () => {
  await wfm.stop();
  env.cleanup();
  rmSync(work, { recursive: true, force: true });
});

function chromium(args: string[]): { stdout: string; code: number } {
  const profile = mkdtempSync(path.join(work, "profile-"));
  const proc = Bun.spawnSync(
    [CHROMIUM!, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`, `--window-size=${WIDTH},900`, "--hide-scrollbars", ...args],
    { stdout: "pipe", stderr: "pipe", timeout: 60_000 },
  );
  return { stdout: proc.stdout.toString(), code: proc.exitCode ?? -1 };
}

const MEASURE = `<script>
const de = document.documentElement;
const tables = [...document.querySelectorAll("table")].map((t) => Math.ceil(t.getBoundingClientRect().right));
document.body.setAttribute("data-measured", JSON.stringify({ scrollWidth: de.scrollWidth, innerWidth: window.innerWidth, tables }));
</script>`;

test.skipIf(CHROMIUM === null)("at 1200 px nothing overflows; names, application ids and the last error of a retried deployment are shown", async () => {
  const html = await (await anonymousFetch(wfm, "/")).text();
  // What the page says, before how it looks.
  expect(html).toContain("<b>press-line-monitor</b>");
  expect(html).toContain("<code>press-line-monitor-suite</code>");
  expect(html).toContain(`<code>${LONG_ID}</code>`);
  expect(html).toContain('class="state installing">installing<');
  expect(html).toContain('class="state failed">failed<');
  expect(html).toMatch(/retrying; failed at [^<]+:<\/span> <span class="err">COMPONENT_APPLY_FAILED<\/span>/);
  expect(html).toContain(`spiffe://margo-dev.local/margo/wfm/dev-wfm/client/${LONG_CLIENT}`);

  const file = path.join(work, "page.html");
  writeFileSync(file, html.replace('<meta http-equiv="refresh" content="2">', "").replace("</body>", `${MEASURE}</body>`));
  const dom = chromium(["--dump-dom", `file://${file}`]);
  expect(dom.code).toBe(0);
  const attr = /data-measured="([^"]*)"/.exec(dom.stdout)?.[1];
  expect(attr).toBeDefined();
  const measured = JSON.parse(attr!.replaceAll("&quot;", '"')) as { scrollWidth: number; innerWidth: number; tables: number[] };
  expect(measured.innerWidth).toBe(WIDTH);
  // Files, clients, and one per client.
  expect(measured.tables.length).toBe(4);
  expect(measured.scrollWidth).toBeLessThanOrEqual(measured.innerWidth);
  for (const right of measured.tables) expect(right).toBeLessThanOrEqual(measured.innerWidth);

  const shot = path.join(work, "page-1200.png");
  expect(chromium([`--screenshot=${shot}`, `file://${file}`]).code).toBe(0);
  const png = readFileSync(shot);
  // PNG IHDR: width and height, big-endian, at bytes 16 and 20.
  expect(png.readUInt32BE(16)).toBe(WIDTH);
  const kept = path.join(tmpdir(), "margo-dev-wfm-page-1200.png");
  writeFileSync(kept, png);
  console.log(`dev WFM page at ${WIDTH} px: ${kept} (${measured.scrollWidth} px wide content, tables end at ${Math.max(...measured.tables)} px)`);
}, 120_000);
