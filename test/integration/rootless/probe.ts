/**
 * Run as an unprivileged user by podman-rootless.test.ts (bundled into one file
 * first, so it needs nothing from the repository at run time): the Podman
 * adapter applies, inspects and removes a two-service component rootless.
 */
import { join } from "node:path";
import { createPodmanRuntime } from "../../../runtimes/podman/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";

const [workDir, composeFile] = process.argv.slice(2) as [string, string];
const runtime = createPodmanRuntime({ platform: bunPlatform, runDir: join(workDir, "run"), idleSeconds: 20, pollMs: 250 });
const deployment = { deploymentId: "rootless-1", name: "rootless", digest: `sha256:${"1".repeat(64)}` };
const ctx = { signal: new AbortController().signal, workDir };
const result: Record<string, unknown> = { profiles: await runtime.supportedProfiles(), engine: await runtime.engineInfo() };
try {
  await runtime.applyComponent(deployment, { name: "web", composeFile, packageDigest: `sha256:${"2".repeat(64)}`, env: { GREETING: "rootless" }, wait: true, timeoutMs: 90_000 }, ctx);
  result.afterApply = await runtime.inspect();
  const env = await bunPlatform.run(["podman", "ps", "--filter", "label=org.margo.deployment-id=rootless-1", "--filter", "label=com.docker.compose.service=a", "--format", "{{.Names}}"]);
  const first = env.stdout.trim().split("\n")[0] ?? "";
  result.greeting = (await bunPlatform.run(["podman", "exec", first, "sh", "-c", "echo $GREETING"])).stdout.trim();
  await runtime.removeComponent(deployment, "web", ctx);
  result.afterRemove = await runtime.inspect();
} catch (err) {
  result.error = `${(err as { code?: string }).code ?? ""} ${(err as Error).message}`;
} finally {
  await runtime.close?.();
}
console.log(JSON.stringify(result));
