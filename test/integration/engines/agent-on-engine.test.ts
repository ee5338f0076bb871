/**
 * The agent with a real engine end to end (in-process agent, dev WFM, real
 * Podman / Docker): install, drift restored by the periodic inspection, a failed
 * update rolled back to the last known good version, removal.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createComposeRuntime } from "../../../runtimes/compose/index.ts";
import { createPodmanRuntime } from "../../../runtimes/podman/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { startDevWfm, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { silentLogger } from "../../../src/log.ts";
import { drained, type Harness, makeAgent } from "../../support/agent-harness.ts";
import { describeWithEngine, type EngineName, engineStatus } from "../../support/engines.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";

const ID = `e2e-${process.pid}`;

function yaml(value: string, pkg: string): string {
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata: {annotations: {id: ${ID}-${value}, applicationId: e2e}, name: e2e}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: app
        properties: {packageLocation: "{{WFM_URL}}/packages/${pkg}", wait: true, timeout: 20s}
  parameters:
    v: {value: "${value}", targets: [{pointer: VALUE, components: [app]}]}
`;
}

for (const engine of ["podman", "docker"] as EngineName[]) {
  const status = await engineStatus(engine);
  describeWithEngine(status, `agent on ${engine}`, () => {
    let wfm: StartedDevWfm;
    let h: Harness;
    let dir: string;
    const signal = new AbortController().signal;
    const deploymentId = `${ID}-${engine}`;
    const write = (value: string, pkg: string) => writeFileSync(join(dir, "app.yaml"), yaml(value, pkg).replaceAll(`${ID}-${value}`, deploymentId));
    const containers = async () => {
      const r = await bunPlatform.run([cliOf(engine), "ps", "-a", "--filter", `label=org.margo.deployment-id=${deploymentId}`, "--format", "{{.Names}} {{.Status}}"]);
      return r.stdout.trim().split("\n").filter(Boolean);
    };
    const states = () => wfm.reports().filter((r) => r.deploymentId === deploymentId).map((r) => (r.body as { status: { state: string; error?: { code: string } } }).status);

    beforeAll(async () => {
      await ensureTestImage(engine);
      dir = mkdtempSync(join(tmpdir(), `e2e-${engine}-`));
      mkdirSync(join(dir, "packages"));
      writeFileSync(join(dir, "packages/good.yaml"), `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    environment: {VALUE: "\${VALUE}"}\n`);
      writeFileSync(join(dir, "packages/loop.yaml"), `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sh", "-c", "exit 5"]\n    restart: always\n    environment: {VALUE: "\${VALUE}"}\n`);
      writeFileSync(join(dir, "packages/job.yaml"), `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    restart: unless-stopped\n    stop_grace_period: 1s\n    environment: {VALUE: "\${VALUE}"}\n  migrate:\n    image: ${TEST_IMAGE}\n    command: ["sh", "-c", "echo migrated"]\n`);
      writeFileSync(join(dir, "packages/bad.yaml"), `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sh", "-c", "exit 3"]\n    environment: {VALUE: "\${VALUE}"}\n`);
      wfm = await startDevWfm({ dir, log: silentLogger, listen: "127.0.0.1:0" });
      const root = mkdtempSync(join(tmpdir(), "rt-"));
      const runtime = engine === "podman" ? createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30, pollMs: 250 }) : createComposeRuntime({ platform: bunPlatform, pollMs: 250 });
      h = makeAgent({ wfmUrl: wfm.url, runtime, clientId: `e2e-${engine}` });
    }, 120_000);

    afterAll(async () => {
      rmSync(join(dir, "app.yaml"), { force: true });
      await h?.agent.sync.poll(signal).catch(() => {});
      await h?.agent.stop();
      await (h?.runtime as { close?: () => Promise<void> })?.close?.();
      await wfm?.stop();
    }, 120_000);

    test("install, then a container removed by hand is restored by the drift check and reported", async () => {
      write("v1", "good.yaml");
      const r = await h.agent.sync.poll(signal);
      expect(r.outcome).toBe("applied");
      expect(h.agent.store.getDeployment(deploymentId)?.state).toBe("installed");
      const [name] = (await containers())[0]!.split(" ");
      await bunPlatform.run([cliOf(engine), "rm", "-f", name!]);
      expect(await containers()).toEqual([]);
      const outcomes = await h.agent.sync.reconcileStored("drift", signal, true);
      expect(outcomes.map((o) => [o.step.action, o.state])).toEqual([["repair", "installed"]]);
      expect((await containers())[0]).toMatch(/Up/);
      await drained(h.agent);
      expect(states().map((s) => s.state)).toEqual(["pending", "installing", "installed", "installing", "installed"]);
    }, 120_000);

    test("an update whose container exits is rolled back to the last known good version", async () => {
      write("v2", "bad.yaml");
      const r = await h.agent.sync.poll(signal);
      expect(r.outcome).toBe("applied");
      const d = h.agent.store.getDeployment(deploymentId)!;
      expect(d.state).toBe("failed");
      expect(d.error?.code).toBe("UPDATE_ROLLED_BACK");
      expect(d.error?.message).toContain("exit");
      // v1 runs again.
      const env = await bunPlatform.run([cliOf(engine), "exec", (await containers())[0]!.split(" ")[0]!, "sh", "-c", "echo $VALUE"]);
      expect(env.stdout.trim()).toBe("v1");
      await drained(h.agent);
      expect(states().at(-1)).toMatchObject({ state: "failed", error: { code: "UPDATE_ROLLED_BACK" } });
    }, 120_000);

    test("a crash loop shows as a failed component with the container's exit code", async () => {
      write("v3", "loop.yaml");
      expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
      const d = h.agent.store.getDeployment(deploymentId)!;
      expect(d.state).toBe("failed");
      expect(d.components[0]).toMatchObject({ name: "app", state: "failed" });
      expect(d.components[0]!.error?.message).toMatch(/code 5/);
    }, 120_000);

    test("a one-shot job that finished (exit 0) is not mistaken for drift", async () => {
      write("v4", "job.yaml");
      expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
      const d = h.agent.store.getDeployment(deploymentId);
      expect({ state: d?.state, error: d?.error }).toEqual({ state: "installed", error: undefined });
      const observed = await h.runtime.inspect();
      expect(observed.find((o) => o.deploymentId === deploymentId)?.components[0]?.state).toBe("running");
      expect(await h.agent.sync.reconcileStored("drift", signal, true)).toEqual([]);
    }, 120_000);

    test("removal takes the containers away and reports removed", async () => {
      rmSync(join(dir, "app.yaml"));
      expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
      expect(await containers()).toEqual([]);
      await drained(h.agent);
      expect(states().slice(-2).map((s) => s.state)).toEqual(["removing", "removed"]);
    }, 120_000);
  });
}
