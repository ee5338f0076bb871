/**
 * The runtime adapter contract, written once and run against every real
 * adapter (one *.test.ts per adapter calls runtimeContract). Each run uses a
 * fresh random deployment id, so runs never see each other's containers, and
 * removes everything it created even when a test fails.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bunPlatform } from "../../src/platform/bun/index.ts";
import { AgentError } from "../../src/errors/index.ts";
import { projectName } from "../../runtimes/shared/naming.ts";
import type { ApplyContext, DeploymentRef, ResolvedComponent, RuntimeAdapter } from "../../runtimes/types.ts";
import { type EngineStatus, describeWithEngine } from "../support/engines.ts";
import { TEST_IMAGE, cliOf, ensureTestImage } from "../support/images.ts";

const FIXTURES = resolve(import.meta.dir, "../fixtures/compose");
const SLOW = 120_000;

export interface ContractSubject {
  title: string;
  engine: EngineStatus;
  /** Builds the adapter; workRoot is a fresh temporary directory for sockets and state. */
  make(workRoot: string): RuntimeAdapter & { close?(): Promise<void> };
  /** The same adapter with its engine binary missing, and with its engine not answering. */
  broken: {
    notFound(workRoot: string): RuntimeAdapter & { close?(): Promise<void> };
    unreachable(workRoot: string): RuntimeAdapter & { close?(): Promise<void> };
  };
}

async function cli(engine: EngineStatus, args: string[]): Promise<string> {
  const r = await bunPlatform.run([cliOf(engine.name), ...args], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${cliOf(engine.name)} ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function lines(s: string): string[] {
  return s.split("\n").map((l) => l.trim()).filter(Boolean);
}

async function expectCode(p: Promise<unknown>, code: string): Promise<AgentError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    const e = err as AgentError;
    if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

export function runtimeContract(subject: ContractSubject): void {
  describeWithEngine(subject.engine, `runtime contract: ${subject.title}`, () => {
    let root: string;
    let adapter: RuntimeAdapter & { close?(): Promise<void> };
    const deployment: DeploymentRef = { deploymentId: `contract-${randomUUID()}`, name: "contract", digest: `sha256:${"a".repeat(64)}` };
    const other: DeploymentRef = { deploymentId: `contract-${randomUUID()}`, name: "contract-2", digest: `sha256:${"b".repeat(64)}` };
    const foreignName = `margo-foreign-${randomUUID().slice(0, 8)}`;
    const ctx = (): ApplyContext => ({ signal: new AbortController().signal, workDir: join(root, "work") });
    const component = (name: string, file: string, env: Record<string, string> = {}, timeoutMs = 60_000): ResolvedComponent => ({
      name,
      composeFile: join(FIXTURES, file),
      packageDigest: `sha256:${"c".repeat(64)}`,
      env,
      wait: true,
      timeoutMs,
    });
    const idsOf = async (dep: DeploymentRef, comp: string) =>
      lines(await cli(subject.engine, ["ps", "-aq", "--filter", `label=org.margo.deployment-id=${dep.deploymentId}`, "--filter", `label=org.margo.component=${comp}`]));

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "margo-contract-"));
      await ensureTestImage(subject.engine.name);
      adapter = subject.make(root);
    }, SLOW);

    afterAll(async () => {
      // Everything this run created carries one of its deployment ids (or the foreign name).
      const c = cliOf(subject.engine.name);
      for (const dep of [deployment, other]) {
        const ids = lines((await bunPlatform.run([c, "ps", "-aq", "--filter", `label=org.margo.deployment-id=${dep.deploymentId}`])).stdout);
        if (ids.length) await bunPlatform.run([c, "rm", "-f", ...ids]);
        const nets = lines((await bunPlatform.run([c, "network", "ls", "-q", "--filter", `label=org.margo.deployment-id=${dep.deploymentId}`])).stdout);
        if (nets.length) await bunPlatform.run([c, "network", "rm", ...nets]);
      }
      await bunPlatform.run([c, "rm", "-f", foreignName]);
      await adapter?.close?.();
      if (root) await rm(root, { recursive: true, force: true });
    }, SLOW);

    test("reports the compose profile and engine versions", async () => {
      expect(await adapter.supportedProfiles()).toEqual(["compose"]);
      const info = await adapter.engineInfo();
      expect(info.reachable).toBe(true);
      expect(info.version).toMatch(/\d+\.\d+/);
    }, SLOW);

    test("installs a two-component deployment in order and sees it running", async () => {
      await adapter.applyComponent(deployment, component("web", "web.yaml", { GREETING: "v1" }), ctx());
      await adapter.applyComponent(deployment, component("worker", "worker.yaml"), ctx());
      const obs = (await adapter.inspect()).find((d) => d.deploymentId === deployment.deploymentId);
      expect(obs?.components.map((c) => [c.name, c.state, c.digest])).toEqual([
        ["web", "running", deployment.digest],
        ["worker", "running", deployment.digest],
      ]);
      // every container carries the ownership labels
      const [id] = await idsOf(deployment, "web");
      const labels = JSON.parse(await cli(subject.engine, ["inspect", "--format", "{{json .Config.Labels}}", id!])) as Record<string, string>;
      expect(labels["org.margo.managed-by"]).toBe("margo-agent");
      expect(labels["com.docker.compose.project"]).toBe(projectName(deployment.deploymentId, "web"));
    }, SLOW);

    test("applies a parameter change as an update", async () => {
      await adapter.applyComponent(deployment, component("web", "web.yaml", { GREETING: "v2" }), ctx());
      const ids = await idsOf(deployment, "web");
      expect(ids).toHaveLength(1);
      // busybox-static has no printenv applet
      expect(await cli(subject.engine, ["exec", ids[0]!, "sh", "-c", 'echo "$GREETING"'])).toBe("v2");
    }, SLOW);

    test("a container removed by hand disappears from inspect()", async () => {
      const ids = await idsOf(deployment, "web");
      await cli(subject.engine, ["rm", "-f", ...ids]);
      const obs = (await adapter.inspect()).find((d) => d.deploymentId === deployment.deploymentId);
      expect(obs?.components.map((c) => c.name)).toEqual(["worker"]);
    }, SLOW);

    test("a container the agent does not own is untouched by remove and absent from inspect()", async () => {
      await cli(subject.engine, [
        "run", "-d", "--name", foreignName,
        "--label", `org.margo.deployment-id=${deployment.deploymentId}`, "--label", "org.margo.component=worker",
        TEST_IMAGE, "sleep", "3600",
      ]);
      const all = await adapter.inspect();
      const worker = all.find((d) => d.deploymentId === deployment.deploymentId)?.components.find((c) => c.name === "worker");
      expect(worker?.detail ?? "").not.toContain(foreignName);
      await adapter.removeComponent(deployment, "worker", ctx());
      expect(await cli(subject.engine, ["inspect", "--format", "{{.State.Running}}", foreignName])).toBe("true");
    }, SLOW);

    test("removal deletes containers and networks and is idempotent", async () => {
      await adapter.removeComponent(deployment, "web", ctx());
      await adapter.removeComponent(deployment, "web", ctx());
      await adapter.removeComponent(deployment, "worker", ctx());
      for (const comp of ["web", "worker"]) {
        const project = projectName(deployment.deploymentId, comp);
        expect(lines(await cli(subject.engine, ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`]))).toEqual([]);
        expect(lines(await cli(subject.engine, ["network", "ls", "-q", "--filter", `label=com.docker.compose.project=${project}`]))).toEqual([]);
      }
      expect((await adapter.inspect()).find((d) => d.deploymentId === deployment.deploymentId)).toBeUndefined();
    }, SLOW);

    test("a container exiting non-zero is reported with its exit code", async () => {
      const err = await expectCode(adapter.applyComponent(other, component("crash", "crash.yaml"), ctx()), "COMPONENT_EXITED");
      expect(err.message).toContain("code 3");
      const crash = (await adapter.inspect()).find((d) => d.deploymentId === other.deploymentId)?.components[0];
      expect(crash).toMatchObject({ name: "crash", state: "exited", exitCode: 3 });
      await adapter.removeComponent(other, "crash", ctx());
    }, SLOW);

    test("an image that does not exist gives IMAGE_NOT_FOUND", async () => {
      await expectCode(adapter.applyComponent(other, component("ghost", "missing-image.yaml"), ctx()), "IMAGE_NOT_FOUND");
      await adapter.removeComponent(other, "ghost", ctx());
    }, SLOW);

    test("malformed compose files give COMPOSE_INVALID", async () => {
      await expectCode(adapter.applyComponent(other, component("broken", "malformed.yaml"), ctx()), "COMPOSE_INVALID");
      const err = await expectCode(adapter.applyComponent(other, component("odd", "rejected.yaml"), ctx()), "COMPOSE_INVALID");
      expect(err.message).toContain("no_such_option");
      await adapter.removeComponent(other, "odd", ctx());
    }, SLOW);

    test("the compose policy judges what compose will run: a privileged merge key is refused, nothing starts", async () => {
      const dir = join(root, "pkg-merge");
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "compose.yaml"), `x-base: &base\n  privileged: true\nservices:\n  app:\n    <<: *base\n    image: ${TEST_IMAGE}\n    pull_policy: never\n    command: ["sleep", "3600"]\n`);
      const merged = { ...component("merged", "web.yaml"), composeFile: join(dir, "compose.yaml") };
      const err = await expectCode(adapter.applyComponent(other, merged, ctx()), "COMPOSE_POLICY_DENIED");
      expect(err.message).toContain("services.app.privileged");
      expect(await idsOf(other, "merged")).toEqual([]);
    }, SLOW);

    test("a parameter is an interpolation variable only, whatever its name", async () => {
      await adapter.applyComponent(other, component("named", "web.yaml", { GREETING: "through the env file", LD_PRELOAD: "/nonexistent/trap.so", PYTHONPATH: "/nonexistent" }), ctx());
      const [id] = await idsOf(other, "named");
      expect(await cli(subject.engine, ["exec", id!, "sh", "-c", 'echo "$GREETING"'])).toBe("through the env file");
      await adapter.removeComponent(other, "named", ctx());
    }, SLOW);

    test("a missing engine is ENGINE_NOT_FOUND and reports no profile", async () => {
      const broken = subject.broken.notFound(root);
      expect(await broken.supportedProfiles()).toEqual([]);
      expect((await broken.engineInfo()).reachable).toBe(false);
      await expectCode(broken.applyComponent(other, component("web", "web.yaml"), ctx()), "ENGINE_NOT_FOUND");
      await broken.close?.();
    }, SLOW);

    test("an engine that does not answer is ENGINE_UNREACHABLE", async () => {
      const broken = subject.broken.unreachable(root);
      await expectCode(broken.applyComponent(other, component("web", "web.yaml"), ctx()), "ENGINE_UNREACHABLE");
      await broken.close?.();
    }, SLOW);

    test("a healthcheck that never passes times out with COMPONENT_TIMEOUT", async () => {
      const err = await expectCode(adapter.applyComponent(other, component("sick", "never-healthy.yaml", {}, 3_000), ctx()), "COMPONENT_TIMEOUT");
      expect(err.message).toContain("sick");
      await adapter.removeComponent(other, "sick", ctx());
    }, SLOW);
  });
}
