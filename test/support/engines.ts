/**
 * Which container engines this machine has, checked once per test process, and
 * a way to declare tests that need one: in CI (CI=true) a missing engine FAILS
 * the suite; on a developer's machine the tests are skipped with the reason
 * printed and in their names.
 */
import { describe, test } from "bun:test";
import { bunPlatform } from "../../src/platform/bun/index.ts";

export type EngineName = "podman" | "docker";

export interface EngineStatus {
  name: EngineName;
  available: boolean;
  reason?: string;
}

const cache = new Map<EngineName, Promise<EngineStatus>>();

/** True when a compose tool (v2 plugin or v1) answers. */
async function composeToolAnswers(): Promise<boolean> {
  for (const argv of [["docker", "compose", "version", "--short"], ["docker-compose", "version", "--short"]]) {
    const r = await bunPlatform.run(argv, { timeoutMs: 15_000 });
    if (r.code === 0) return true;
  }
  return false;
}

async function check(name: EngineName): Promise<EngineStatus> {
  const argv = name === "podman" ? ["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"] : ["docker", "info", "--format", "{{.ServerVersion}}"];
  const r = await bunPlatform.run(argv, { timeoutMs: 15_000 });
  if (r.code === 127) return { name, available: false, reason: `${name} not installed` };
  if (r.code !== 0 || !r.stdout.trim()) {
    return { name, available: false, reason: `${name} not answering (${(r.stderr.trim().split("\n").pop() ?? "").slice(0, 160)})` };
  }
  if (!(await composeToolAnswers())) return { name, available: false, reason: "no compose tool (docker compose / docker-compose) installed" };
  return { name, available: true };
}

export function engineStatus(name: EngineName): Promise<EngineStatus> {
  let p = cache.get(name);
  if (!p) cache.set(name, (p = check(name)));
  return p;
}

export const inCI = process.env.CI === "true";

/**
 * describe() for tests needing `status.name`. Available: a normal describe.
 * Missing in CI: one failing test naming the reason. Missing elsewhere: skipped,
 * with the reason in the suite name and on stderr.
 */
export function describeWithEngine(status: EngineStatus, title: string, fn: () => void): void {
  if (status.available) {
    describe(title, fn);
    return;
  }
  if (inCI) {
    describe(title, () => {
      test(`${status.name} is available (CI=true requires it)`, () => {
        throw new Error(`${title}: ${status.reason}; CI must run the engine tests (see .ci/run)`);
      });
    });
    return;
  }
  console.warn(`[skip] ${title}: ${status.reason}`);
  describe.skip(`${title} (skipped: ${status.reason})`, fn);
}
