/**
 * Issue 10 item 10: setTimeout/setInterval turn a delay above 2^31-1 ms into
 * 1 ms, so `poll.interval: 30d` polled 2,582 times in 5 s and
 * `reconcile.driftInterval: 25d` inspected the runtime continuously. The config
 * now bounds every duration (config-validation.test.ts), and the agent never
 * hands a timer more than it can hold (src/util/timer.ts): shown here with the
 * bounds bypassed, a real Agent, a real HTTP WFM and real child processes.
 *
 * Invariants held here (docs/architecture.md): INV-TIME-1.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { agentDeps } from "../../support/agent-deps.ts";
import { Agent } from "../../../src/agent/agent.ts";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { silentLogger } from "../../../src/log.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import type { ComponentResolver } from "../../../src/reconcile/component-resolver.ts";
import { after, every, MAX_TIMER_MS, sleep } from "../../../src/util/timer.ts";
import { deploymentYaml, startTinyWfm } from "../api/tiny-wfm.ts";
import { countingWfm, tempDir } from "./startup-harness.ts";

const DAY = 86_400_000;
const dirs: { remove(): void }[] = [];
afterAll(() => {
  for (const d of dirs) d.remove();
});

describe("src/util/timer", () => {
  test("a delay past 2^31-1 ms does not fire after 1 ms (setTimeout's overflow)", async () => {
    let fired = 0;
    const t = after(MAX_TIMER_MS + 1, () => fired++);
    const i = every(30 * DAY, () => fired++);
    await Bun.sleep(200);
    t.cancel();
    i.cancel();
    expect(fired).toBe(0);
  });

  test("a long delay is waited out as a chain of shorter timers and fires once, not before its deadline", async () => {
    const started = performance.now();
    const at = await new Promise<number>((resolve) => after(60, () => resolve(performance.now()), 7));
    expect(at - started).toBeGreaterThanOrEqual(59);
  });

  test("cancel stops a chained timer; sleep rejects on abort; NaN is a bug", async () => {
    let fired = 0;
    const t = after(40, () => fired++, 5);
    await Bun.sleep(12);
    t.cancel();
    await Bun.sleep(60);
    expect(fired).toBe(0);
    const abort = new AbortController();
    const slept = sleep(60 * DAY, abort.signal);
    abort.abort(new Error("stop"));
    await expect(slept).rejects.toThrow("stop");
    expect(() => after(Number.NaN, () => {})).toThrow(RangeError);
  });

  test("a process run with a timeout past 2^31-1 ms is not killed at once", async () => {
    const r = await bunPlatform.run(["sleep", "0.2"], { timeoutMs: 2 ** 31 + 1000 });
    expect(r).toMatchObject({ code: 0, killed: false });
  });
});

/** Counts the runtime inspections (one per drift check once something is applied). */
class CountingRuntime extends SimulatedRuntime {
  inspections = 0;
  override async inspect() {
    this.inspections++;
    return super.inspect();
  }
}

const resolver =
  (dir: string): ComponentResolver =>
  async (deployment, component) => {
    const file = join(dir, "packages", deployment.id, component.name, "compose.yaml");
    mkdirSync(join(file, ".."), { recursive: true });
    const text = `services:\n  ${component.name}:\n    image: busybox\n`;
    writeFileSync(file, text);
    return { name: component.name, composeFile: file, packageDigest: sha256Digest(text), env: {}, wait: component.wait, timeoutMs: component.timeoutMs };
  };

function agentWith(wfmUrl: string, change: (c: Config) => Config): { agent: Agent; runtime: CountingRuntime } {
  const t = tempDir("margo-timers-");
  dirs.push(t);
  const config = change(
    loadConfig({ env: {}, sets: ["wfm.profile=v1", `wfm.url=${wfmUrl}`, "wfm.clientId=dev-1", "wfm.allowInsecureHttp=true", `dataDir=${t.dir}`, "runtime=simulated", "poll.jitter=0", "api.enabled=false"] }),
  );
  const runtime = new CountingRuntime({ dataDir: t.dir });
  const agent = new Agent(agentDeps({ config, runtime, resolve: resolver(t.dir), log: silentLogger, clientId: () => "dev-1" }));
  return { agent, runtime };
}

describe("the agent's timers with durations the config no longer accepts", () => {
  test("poll.interval 30d: one poll at start, then none (was thousands a second)", async () => {
    const wfm = countingWfm();
    const { agent } = agentWith(wfm.url, (c) => ({ ...c, poll: { ...c.poll, interval: 30 * DAY }, reconcile: { ...c.reconcile, driftInterval: 0 } }));
    try {
      await agent.start();
      await Bun.sleep(500);
      expect(wfm.polls).toBe(1);
    } finally {
      await agent.stop();
      await wfm.stop();
    }
  });

  test("reconcile.driftInterval 25d: no drift check in the first moments (was continuous)", async () => {
    const wfm = startTinyWfm([{ id: "dep-a", yaml: deploymentYaml("dep-a", "a") }]);
    const { agent, runtime } = agentWith(wfm.url, (c) => ({ ...c, poll: { ...c.poll, interval: DAY }, reconcile: { ...c.reconcile, driftInterval: 25 * DAY } }));
    try {
      await agent.start();
      const outcome = await agent.syncNow();
      expect(outcome.outcome).toBe("applied");
      const before = runtime.inspections;
      await Bun.sleep(500);
      expect(runtime.inspections).toBe(before);
    } finally {
      await agent.stop();
      await wfm.stop();
    }
  });
});
