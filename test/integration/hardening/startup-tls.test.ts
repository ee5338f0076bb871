/**
 * Issue 10 item 13: the CA is read in one place, once (src/config/wfm-tls.ts),
 * and its failures carry their own code. The onboarding fetch read wfm.caFile on
 * every request (a file removed or rewritten under a running agent broke it
 * with ENOENT), and a missing CA inside the store's opening code was reported
 * as STORE_CORRUPT, which invites deleting state.db. Real TLS: the WFM's
 * certificate is made with the openssl CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { wfmFetch } from "../../../src/bootstrap/v1-session.ts";
import { TOFU_CA_FILE } from "../../../src/onboarding/trust-on-first-use.ts";
import { MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";
import { exitWithin, spawnCli, tempDir, waitFor, writeConfig } from "./startup-harness.ts";

const openssl = Bun.which("openssl");
const t = tempDir("margo-tls-");
let server: ReturnType<typeof Bun.serve> | undefined;
let url = "";
let caFile = "";
let polls = 0;

beforeAll(() => {
  if (!openssl) return;
  const key = join(t.dir, "key.pem");
  caFile = join(t.dir, "ca.pem");
  const made = Bun.spawnSync([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", caFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stderr: "pipe" });
  expect(made.exitCode).toBe(0);
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(caFile, "utf8"), key: readFileSync(key, "utf8") },
    fetch(req) {
      if (req.method === "GET" && new URL(req.url).pathname === "/api/v1/clients/dev-1/deployments") {
        polls++;
        return new Response(JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [] }), { headers: { "content-type": MANIFEST_MEDIA_TYPE, etag: '"e1"' } });
      }
      return new Response(null, { status: 201 });
    },
  });
  url = `https://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.stop(true);
  t.remove();
});

describe.skipIf(!openssl)("the WFM's CA, read once", () => {
  test("the onboarding fetch (wfmFetch) keeps working when the CA file is removed after it was set up", async () => {
    const copy = join(t.dir, "ca-copy.pem");
    writeFileSync(copy, readFileSync(caFile));
    const f = wfmFetch(bunPlatform, copy);
    expect((await f(`${url}/api/v1/clients/dev-1/deployments`, {})).status).toBe(200);
    rmSync(copy);
    expect((await f(`${url}/api/v1/clients/dev-1/deployments`, {})).status).toBe(200);
  });

  test("a running agent keeps verifying the WFM with the CA it loaded at start", async () => {
    const d = tempDir("margo-tls-run-");
    try {
      const ca = join(d.dir, "ca.pem");
      writeFileSync(ca, readFileSync(caFile));
      const config = writeConfig(d.dir, url, [`api: {listen: "127.0.0.1:0"}`, "poll: {interval: 1h}"]);
      writeFileSync(config, readFileSync(config, "utf8").replace("  allowInsecureHttp: true\n", `  caFile: ${ca}\n`));
      const run = spawnCli(["run", "--config", config]);
      const listening = () => run.lines().find((l) => l.msg === "local API listening")?.listen as string | undefined;
      const before = polls;
      await waitFor("the first poll over TLS", () => polls > before && listening() !== undefined, 20_000, run.stdout);
      rmSync(ca);
      const sync = await fetch(`${listening()}/v1/sync`, { method: "POST" });
      expect(((await sync.json()) as { outcome: string }).outcome).toBe("not-modified");
      run.proc.kill("SIGTERM");
      expect(await exitWithin(run)).toBe(0);
      expect(run.lines().some((l) => l.code === "WFM_UNREACHABLE")).toBe(false);
    } finally {
      d.remove();
    }
  }, 60_000);

  test("a damaged trust-on-first-use CA in dataDir stops run with CA_FILE_INVALID, not STORE_CORRUPT", async () => {
    const d = tempDir("margo-tls-tofu-");
    try {
      const config = writeConfig(d.dir, url, ["api: {enabled: false}"]);
      writeFileSync(config, readFileSync(config, "utf8").replace("  allowInsecureHttp: true\n", "  trustOnFirstUse: true\n"));
      // As a first start leaves it, but damaged (a torn write, a bad flash block).
      mkdirSync(join(d.dir, "data"), { mode: 0o700 });
      writeFileSync(join(d.dir, "data", TOFU_CA_FILE), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
      const run = spawnCli(["run", "--config", config]);
      expect(await exitWithin(run)).toBe(1);
      const fatal = run.lines().find((l) => l.level === "fatal");
      expect(fatal?.code).toBe("CA_FILE_INVALID");
      expect(String(fatal?.msg)).toContain(join(d.dir, "data", TOFU_CA_FILE));
    } finally {
      d.remove();
    }
  }, 60_000);
});
