/**
 * `margo-agent decommission` (issue 12 item 5): the real CLI process, over
 * mutual TLS with the device's SVID, sends DELETE /api/v1/capabilities/{deviceId}
 * to a real rc3 WFM mounted under a path prefix.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DevCa } from "../../../src/trust/index.ts";
import { clientFiles, startRc3Wfm, TD, type RealishWfm } from "./support.ts";

const CLI = resolve(import.meta.dir, "../../../src/cli.ts");
const root = mkdtempSync(join(tmpdir(), "rc3-decommission-"));
const ca = DevCa.create({ trustDomain: TD });
const anchors = join(root, "anchors.pem");
writeFileSync(anchors, ca.anchorPem);
let wfm: RealishWfm;
afterAll(async () => wfm?.stop());

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, CLI, ...args], { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "" } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("margo-agent decommission", () => {
  test("DELETEs this device's capabilities (204), then finds nothing to delete (404 device-not-found, still exit 0)", async () => {
    wfm = await startRc3Wfm(ca, { prefix: "/v1alpha2/margo" });
    const files = await clientFiles(ca, join(root, "client"));
    const config = join(root, "config.yaml");
    writeFileSync(
      config,
      `wfm: {url: "${wfm.url}", caFile: "${anchors}"}\nidentity: {certFile: "${files.certFile}", keyFile: "${files.keyFile}"}\ndataDir: "${join(root, "data")}"\ndevice: {id: gateway1/edge-7}\nlog: {level: warn}\n`,
    );
    wfm.capabilities.set("gateway1/edge-7", "{}");

    const refused = await cli(["decommission", "--config", config]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("add --yes");
    expect(wfm.seen).toHaveLength(0);

    const done = await cli(["decommission", "--config", config, "--yes"]);
    expect({ code: done.code, stderr: done.stderr }).toEqual({ code: 0, stderr: "" });
    expect(done.stdout).toContain("decommissioned: the WFM removed device gateway1/edge-7");
    expect(wfm.seen.map((r) => `${r.method} ${r.path} ${r.client}`)).toEqual([`DELETE /api/v1/capabilities/gateway1/edge-7 spiffe://${TD}/margo/wfm/wfm-1/client/device-7`]);
    expect(wfm.capabilities.has("gateway1/edge-7")).toBe(false);

    const again = await cli(["decommission", "--config", config, "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("has no record of device gateway1/edge-7");
    expect(again.stdout).toContain("#device-not-found");
  });

  test("v1 has no decommissioning, and an rc3 config without an SVID is refused before anything is sent (exit 3)", async () => {
    const v1 = join(root, "v1.yaml");
    writeFileSync(v1, `wfm: {profile: v1, url: "https://127.0.0.1:9"}\ndataDir: "${join(root, "data-v1")}"\n`);
    const out = await cli(["decommission", "--config", v1, "--yes"]);
    expect(out.code).toBe(3);
    expect(out.stderr).toContain("decommissioning is an rc3 call");

    const bare = join(root, "bare.yaml");
    writeFileSync(bare, `wfm: {url: "https://127.0.0.1:9", caFile: "${anchors}"}\ndataDir: "${join(root, "data-bare")}"\n`);
    const noSvid = await cli(["decommission", "--config", bare, "--yes"]);
    expect(noSvid.code).toBe(3);
    expect(noSvid.stderr).toContain("identity.certFile: is required with wfm.profile rc3");
  });
});
