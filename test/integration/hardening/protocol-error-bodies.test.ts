/**
 * Issue 10, item 6: every body the agent reads from the WFM is bounded. A real
 * agent process against a real HTTP server whose every answer has a body that
 * never ends: 503/401/403 to the manifest, 503/403/404 to reports, a 404 to the
 * package, and finally 200 acknowledgements with endless bodies too. The
 * agent's peak RSS (VmHWM) stays near idle, it keeps running and it keeps
 * retrying. Reading such a body whole took the agent to 4.5 GB in 20 s.
 *
 * Invariants held here (docs/architecture.md): INV-BOUND-1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ENDLESS_CAP_BYTES, type EndlessWfm, peakRssBytes, startEndlessWfm } from "./protocol-endless-wfm.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");
/** Generous: an idle agent sits well under it, one endless body read whole is far above it. */
const RSS_BOUND = 256 * 1024 * 1024;

let wfm: EndlessWfm;
let root: string;
let agent: ReturnType<typeof Bun.spawn>;
const logFile = () => join(root, "agent.log");
const logLines = () =>
  readFileSync(logFile(), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function until(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(wfm.counts)}`);
    if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}) while waiting for ${what}`);
    await Bun.sleep(100);
  }
}

beforeAll(() => {
  wfm = startEndlessWfm();
  root = mkdtempSync(join(tmpdir(), "margo-endless-"));
  const config = join(root, "agent.yaml");
  writeFileSync(
    config,
    [
      "wfm:",
      "  profile: v1", // the default is rc3 (issue 12); this is a v1 WFM
      `  url: ${wfm.url}`,
      "  clientId: test-device",
      "  allowInsecureHttp: true",
      "  requestTimeout: 10s",
      `dataDir: ${join(root, "data")}`,
      "runtime: simulated",
      "poll: {interval: 1s, jitter: 0}",
      "packages: {allowInsecureHttp: true, reserve: 1MiB}",
      "journal: {retryMax: 1s}",
      "reconcile: {driftInterval: 0}",
      "api: {enabled: false}",
      "log: {level: info}",
    ].join("\n"),
  );
  const out = Bun.file(logFile());
  agent = Bun.spawn([process.execPath, CLI, "run", "--config", config], { stdout: out, stderr: out });
});

afterAll(async () => {
  agent?.kill("SIGKILL");
  await agent?.exited;
  wfm?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe("a WFM whose answers never end", () => {
  test("error answers to the manifest and to reports: bounded memory, the agent keeps running and retries", async () => {
    await until("two of each endless error to the manifest and to reports", () => {
      const m = wfm.counts.manifestErrors;
      const r = wfm.counts.reports;
      return wfm.counts.manifestOk === 1 && [503, 401, 403].every((s) => (m[s] ?? 0) >= 2) && [503, 403, 404].every((s) => (r[s] ?? 0) >= 2);
    });
    const peak = peakRssBytes(agent.pid);
    console.log(`agent VmHWM ${Math.round(peak / 2 ** 20)} MiB; the WFM sent ${Math.round(wfm.sent.bytes / 2 ** 20)} MiB in all`);
    expect(agent.exitCode).toBeNull();
    // The server could have sent gigabytes; the agent took a few kilobytes of each answer.
    expect(wfm.sent.bytes).toBeLessThan(ENDLESS_CAP_BYTES);
    expect(peak).toBeLessThan(RSS_BOUND);
    const codes = new Set(logLines().map((l) => l.code));
    expect(codes.has("IDENTITY_REJECTED") || codes.has("WFM_HTTP_ERROR")).toBe(true);
  }, 120_000);

  test("endless 200 acknowledgements: the reports are delivered, memory still bounded", async () => {
    const before = wfm.counts.reports[200] ?? 0;
    wfm.reportAnswers = [200];
    await until("reports acknowledged with endless 200 bodies", () => (wfm.counts.reports[200] ?? 0) >= before + 2);
    expect(agent.exitCode).toBeNull();
    expect(peakRssBytes(agent.pid)).toBeLessThan(RSS_BOUND);
  }, 120_000);
});
