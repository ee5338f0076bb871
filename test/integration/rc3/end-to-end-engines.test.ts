/**
 * rc3 end to end on real engines: the real `margo-agent run` process with a
 * client SVID minted by the dev WFM, every request mutual TLS, the package an
 * OCI artifact of the dev WFM's own endpoint, a real container on Podman and on
 * Docker; then the deployment removed from the desired state. Every status body
 * the WFM received is valid rc.3 (no envelope, with the deviceId).
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { depId, type Fleet, received, startAgent, startFleet, stopAgent, waitFor } from "../durability/harness.ts";
import { describeWithEngine, type EngineName, engineStatus } from "../../support/engines.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { assertValidRc3 } from "../../support/openapi.ts";

const fleets: Fleet[] = [];
afterAll(async () => {
  for (const f of fleets) {
    await stopAgent(f);
    await f.wfm.stop();
  }
});

for (const engine of ["podman", "docker"] as EngineName[]) {
  const status = await engineStatus(engine);
  describeWithEngine(status, `rc3 on ${engine}`, () => {
    test("install over mutual TLS from the dev WFM's OCI endpoint, a real container runs, removal reported", async () => {
      await ensureTestImage(engine);
      const f = await startFleet(1, {}, "rc3");
      fleets.push(f);
      // A real workload on the real engine instead of the simulated runtime.
      writeFileSync(join(f.dir, "packages/app/compose.yaml"), `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    environment: {VALUE: "\${VALUE}"}\n`);
      writeFileSync(f.configFile, readFileSync(f.configFile, "utf8").replace("runtime: simulated", `runtime: ${engine === "docker" ? "compose" : "podman"}`));
      startAgent(f);
      const id = depId(0);
      const last = () => received(f).byDeployment.get(id)?.at(-1)?.state;
      await waitFor("installed at the WFM", () => last() === "installed", 90_000, () => JSON.stringify(received(f).byDeployment.get(id)?.map((r) => r.state)));
      const ps = await bunPlatform.run([cliOf(engine), "ps", "--filter", `label=org.margo.deployment-id=${id}`, "--format", "{{.Names}}"]);
      expect(ps.stdout.trim().split("\n").filter(Boolean)).toHaveLength(1);

      rmSync(join(f.dir, `${id}.yaml`));
      await waitFor("removed at the WFM", () => last() === "removed", 90_000);
      const after = await bunPlatform.run([cliOf(engine), "ps", "-a", "--filter", `label=org.margo.deployment-id=${id}`, "--format", "{{.Names}}"]);
      expect(after.stdout.trim()).toBe("");
      await stopAgent(f);

      expect(received(f).byDeployment.get(id)?.map((r) => r.state)).toEqual(["pending", "installing", "installed", "removing", "removed"]);
      for (const r of f.wfm.reports()) {
        assertValidRc3("DeploymentStatusManifest", r.body);
        expect(r.body).not.toHaveProperty("apiVersion");
        expect(r.body).toHaveProperty("deviceId");
      }
      for (const c of f.wfm.capabilities()) assertValidRc3("DeviceCapabilitiesManifest", c.body);
      expect(f.wfm.capabilities().length).toBeGreaterThan(0);
    }, 180_000);
  });
}
