import { describe, expect, test } from "bun:test";
import type { EngineEvent, WatchHandlers } from "../../runtimes/types.ts";
import { DriftWatch } from "../../src/agent/drift-watch.ts";

/** A watch the test drives by hand. */
function manualWatch() {
  let handlers: WatchHandlers | undefined;
  let signal: AbortSignal | undefined;
  return {
    watch: (h: WatchHandlers, s: AbortSignal) => {
      handlers = h;
      signal = s;
    },
    emit: (e: Partial<EngineEvent> = {}) => handlers!.onEvent({ action: "remove", containerId: "c", deploymentId: "d", ...e }),
    status: (up: boolean) => handlers!.onStatus?.(up, up ? undefined : "gone"),
    aborted: () => signal?.aborted,
  };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(5);
  if (!cond()) throw new Error(`never happened: ${what}`);
}

describe("DriftWatch", () => {
  test("up follows the stream; a burst of events is one check; stop aborts the stream", async () => {
    const w = manualWatch();
    let checks = 0;
    const dw = new DriftWatch({ watch: w.watch, checkDrift: async () => void checks++, debounceMs: 20, maxDelayMs: 100, safetyNetMs: Infinity });
    dw.start();
    expect(dw.up).toBe(false);
    w.status(true);
    expect(dw.up).toBe(true);
    for (const action of ["kill", "die", "stop", "remove"] as const) w.emit({ action });
    await until("the check", () => checks > 0);
    await Bun.sleep(50);
    expect(checks).toBe(1);
    w.status(false);
    expect(dw.up).toBe(false);
    dw.stop();
    expect(w.aborted()).toBe(true);
  });

  test("a reconnect checks once (the gap was not seen); the first connect does not", async () => {
    const w = manualWatch();
    let checks = 0;
    const dw = new DriftWatch({ watch: w.watch, checkDrift: async () => void checks++, debounceMs: 5, safetyNetMs: Infinity });
    dw.start();
    w.status(true);
    await Bun.sleep(30);
    expect(checks).toBe(0);
    w.status(false);
    w.status(true);
    await until("the check after the reconnect", () => checks === 1);
    dw.stop();
  });

  test("a check the agent could not run now (false) is asked again; irrelevant events cost nothing", async () => {
    const w = manualWatch();
    const answers = [false, false, true];
    let checks = 0;
    const dw = new DriftWatch({ watch: w.watch, checkDrift: async () => (checks++, answers.shift() ?? true), relevant: (e) => e.deploymentId === "mine", debounceMs: 5, safetyNetMs: Infinity });
    dw.start();
    w.status(true);
    w.emit({ deploymentId: "someone-else" });
    await Bun.sleep(30);
    expect(checks).toBe(0);
    w.emit({ deploymentId: "mine" });
    await until("three attempts", () => checks === 3);
    await Bun.sleep(30);
    expect(checks).toBe(3);
    dw.stop();
  });

  test("events while a check runs lead to exactly one more check", async () => {
    const w = manualWatch();
    let checks = 0;
    let release!: () => void;
    const dw = new DriftWatch({ watch: w.watch, checkDrift: () => (checks++, checks === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve()), debounceMs: 5, safetyNetMs: Infinity });
    dw.start();
    w.status(true);
    w.emit();
    await until("the first check", () => checks === 1);
    w.emit();
    w.emit();
    await Bun.sleep(30);
    release();
    await until("the second check", () => checks === 2);
    await Bun.sleep(30);
    expect(checks).toBe(2);
    dw.stop();
  });

  test("the safety net checks while the stream is up, and not while it is down", async () => {
    const w = manualWatch();
    let checks = 0;
    const dw = new DriftWatch({ watch: w.watch, checkDrift: async () => void checks++, safetyNetMs: 10 });
    dw.start();
    await Bun.sleep(50);
    expect(checks).toBe(0);
    w.status(true);
    await until("a safety-net check", () => checks > 0);
    dw.stop();
  });
});
