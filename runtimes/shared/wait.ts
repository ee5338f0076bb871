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
      if (row.state !== "running" || (row.health && row.health !== "healthy")) pending.push(`${service}: ${describe(row)}`);
    }
  }
  return pending.length ? { done: false, pending } : { done: true };
}

export async function waitForProject(input: WaitInput): Promise<void> {
  const deadline = Date.now() + input.timeoutMs;
  let last: string[] = [];
  for (;;) {
    if (input.signal.aborted) {
      throw new AgentError("COMPONENT_APPLY_FAILED", `${input.what}: cancelled because a newer desired state superseded it`, { cancelled: true });
    }
    const rows = await input.engine.list(input.project);
    const verdict = judge(input.services, rows);
    if (verdict.done) return;
    if (verdict.failed) {
      const { service, row } = verdict.failed;
      const logs = await tailLogs(input, row.id);
      throw new AgentError(
        "COMPONENT_EXITED",
        `${input.what}: service "${service}" exited with code ${row.exitCode ?? "unknown"}${logs ? ` (last output: ${logs})` : ""}`,
        { service, exitCode: row.exitCode },
      );
    }
    last = verdict.pending;
    if (Date.now() >= deadline) {
      throw new AgentError("COMPONENT_TIMEOUT", `${input.what}: not running within ${input.timeoutMs} ms (${last.join("; ")})`, { pending: last });
    }
    const waiting = rows.filter((r) => r.state === "running" && r.health === "starting");
    if (waiting.length && input.engine.nudgeHealth) await input.engine.nudgeHealth(waiting);
    await sleep(Math.min(input.pollMs, Math.max(0, deadline - Date.now())), input.signal);
  }
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
