/**
 * Waiting until a freshly applied component is up: every service it starts has
 * a container, and each is running (healthy when it has a healthcheck) or has
 * finished with exit code 0 (a one-shot job). Polls ONE list call per round.
 */
import { AgentError } from "../../src/errors/index.ts";
import type { Platform } from "../../src/platform/types.ts";
import { type ContainerRow, describe } from "./containers.ts";
import type { ContainerEngine } from "./engine.ts";
import { lastLines } from "./failures.ts";
import { LABEL } from "./naming.ts";

export interface WaitInput {
  engine: ContainerEngine;
  run: Platform["run"];
  project: string;
  services: string[];
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
  what: string;
  /**
   * Once everything looks up, look again after this long: a container that
   * exited or restarted meanwhile is crash-looping (Podman restarts at once and
   * shows no "restarting" state, so a single look can catch it running).
   */
  settleMs?: number;
}

export type Verdict =
  | { done: true }
  | { done: false; failed?: { service: string; row: ContainerRow }; pending: string[] };

/** Pure: what the rows say about the wait. */
export function judge(services: string[], rows: ContainerRow[]): Verdict {
  const pending: string[] = [];
  for (const service of services) {
    const mine = rows.filter((r) => r.labels[LABEL.composeService] === service);
    if (!mine.length) {
      pending.push(`${service}: no container yet`);
      continue;
    }
    for (const row of mine) {
      if (row.state === "exited" || row.state === "dead") {
        if (row.exitCode !== 0) return { done: false, failed: { service, row }, pending };
        continue;
      }
      // Restarting after a non-zero exit is a crash loop: waiting longer will not help.
      if (row.state === "restarting" && row.exitCode !== undefined && row.exitCode !== 0) return { done: false, failed: { service, row }, pending };
      if (row.state !== "running" || (row.health && row.health !== "healthy")) pending.push(`${service}: ${describe(row)}`);
    }
  }
  return pending.length ? { done: false, pending } : { done: true };
}

export async function waitForProject(input: WaitInput): Promise<void> {
  // Monotonic: a wall-clock step (NTP after a boot without RTC, an operator's
  // `date -s`) must neither end a wait early nor stretch it (INV-TIME-1).
  const deadline = performance.now() + input.timeoutMs;
  let last: string[] = [];
  for (;;) {
    if (input.signal.aborted) {
      throw new AgentError("COMPONENT_APPLY_FAILED", `${input.what}: cancelled because a newer desired state superseded it`, { cancelled: true });
    }
    const rows = await input.engine.list(input.project);
    let verdict = judge(input.services, rows);
    if (verdict.done) {
      if (!input.settleMs) return;
      await sleep(input.settleMs, input.signal);
      const again = await input.engine.list(input.project);
      let restarted = restartedRow(rows, again);
      // Catch the crash-looping container between two runs, to report its exit code.
      for (let i = 0; restarted && restarted.state === "running" && i < 10; i++) {
        await sleep(100, input.signal);
        restarted = (await input.engine.list(input.project)).find((r) => r.id === restarted!.id && r.state !== "running") ?? restarted;
      }
      if (restarted) verdict = { done: false, failed: { service: restarted.labels[LABEL.composeService] ?? restarted.id, row: restarted }, pending: [] };
      else {
        verdict = judge(input.services, again);
        if (verdict.done) return;
      }
    }
    if (verdict.failed) {
      const { service, row } = verdict.failed;
      const logs = await tailLogs(input, row.id);
      throw new AgentError(
        "COMPONENT_EXITED",
        `${input.what}: service "${service}" ${row.state === "running" ? "restarted while settling (crash loop)" : `exited with code ${row.exitCode ?? "unknown"}`}${logs ? ` (last output: ${logs})` : ""}`,
        { service, exitCode: row.exitCode },
      );
    }
    last = verdict.pending;
    if (performance.now() >= deadline) {
      throw new AgentError("COMPONENT_TIMEOUT", `${input.what}: not running within ${input.timeoutMs} ms (${last.join("; ")})`, { pending: last });
    }
    const waiting = rows.filter((r) => r.state === "running" && r.health === "starting");
    if (waiting.length && input.engine.nudgeHealth) await input.engine.nudgeHealth(waiting);
    await sleep(Math.min(input.pollMs, Math.max(0, deadline - performance.now())), input.signal);
  }
}

/** A container of `before` that ran and, in `after`, started again or stopped with a failure. */
export function restartedRow(before: ContainerRow[], after: ContainerRow[]): ContainerRow | undefined {
  for (const b of before) {
    if (b.state !== "running") continue;
    const a = after.find((x) => x.id === b.id);
    if (!a) continue;
    if (b.startedAt !== undefined && a.startedAt !== undefined && a.startedAt !== b.startedAt) return a;
  }
  return undefined;
}

async function tailLogs(input: WaitInput, id: string): Promise<string> {
  const r = await input.run([input.engine.cli, "logs", "--tail", "5", id], { timeoutMs: 10_000 });
  return r.code === 0 ? lastLines(`${r.stdout}\n${r.stderr}`, 5) : "";
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
