/**
 * Issue 16 item 2: SIGTERM with the Podman runtime took 76–104 s, the agent
 * waiting for the `podman system service --time 120` child it had started to
 * idle out. The agent now closes its runtime when it stops: it exits promptly
 * on every real engine, and no child of it is left running.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { describeWithEngine, type EngineName, engineStatus } from "../../support/engines.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { deploymentYaml, exitWithin, type Field, processesWith, startAgent, startField, stopField, waitForState, writePackage } from "./harness.ts";

for (const engine of ["podman", "docker"] as EngineName[]) {
  const runtime = engine === "podman" ? "podman" : "compose";
  describeWithEngine(await engineStatus(engine), `SIGTERM with the ${runtime} runtime`, () => {
    let f: Field;
    const id = `stop-${engine}-${process.pid}`;
    beforeAll(async () => {
      await ensureTestImage(engine);
      f = await startField({ runtime });
      writePackage(f, "app", TEST_IMAGE, "sleep 3600");
    }, 120_000);
    afterAll(async () => {
      for (const kind of [["ps", "-aq"], ["network", "ls", "-q"]]) {
        const ids = (await bunPlatform.run([cliOf(engine), ...kind, "--filter", `label=org.margo.deployment-id=${id}`])).stdout.split("\n").filter(Boolean);
        if (ids.length) await bunPlatform.run([cliOf(engine), ...(kind[0] === "ps" ? ["rm", "-f"] : ["network", "rm"]), ...ids]);
      }
      await stopField(f);
    }, 120_000);

    test("the agent exits 0 and leaves no child of its own running", async () => {
      writeFileSync(join(f.wfmDir, "app.yaml"), deploymentYaml(id));
      const agent = startAgent(f);
      await waitForState(f, id, "installed", 90_000);
      const socket = join(f.dataDir, "run", "podman.sock");
      // With Podman the agent started its own API service for the compose tool.
      if (engine === "podman") expect(processesWith(`system service`).filter((p) => processesWith(socket).includes(p))).not.toEqual([]);
      agent.proc.kill("SIGTERM");
      f.agent = undefined;
      // The old agent took 76–104 s here (the service's --time 120); a stop that hangs fails the test.
      expect(await exitWithin(agent, 30_000)).toBe(0);
      expect(processesWith(socket)).toEqual([]);
      expect(processesWith(f.config)).toEqual([]);
    }, 180_000);
  });
}
