/**
 * What a field engineer asks of a deployment's containers, found by the
 * agent's labels (never by project name, never a container it does not own):
 * their logs, and a restart in place. Used by the compose adapter for both
 * Docker and Podman; the engine CLI (`docker`/`podman`) does the work.
 */
import { AgentError } from "../../src/errors/index.ts";
import type { Platform } from "../../src/platform/types.ts";
import type { LogOptions } from "../types.ts";
import type { ContainerRow } from "./containers.ts";
import type { ContainerEngine } from "./engine.ts";
import { toolFailure } from "./failures.ts";
import { LABEL } from "./naming.ts";

const label = (row: ContainerRow) => `${row.labels[LABEL.component] ?? "?"}/${row.labels[LABEL.composeService] ?? row.id.slice(0, 12)}`;

/** A one-shot job that finished (no restart policy, exited 0): restarting it would run it again. */
const finishedJob = (row: ContainerRow) => row.labels[LABEL.job] === "true" && (row.state === "exited" || row.state === "stopped") && row.exitCode === 0;

/** Restarts a component's containers (`<cli> restart`), finished one-shot jobs left alone. Throws AgentError. */
export async function restartContainers(o: { engine: ContainerEngine; run: Platform["run"]; env: Record<string, string>; project: string; what: string; signal: AbortSignal }): Promise<void> {
  const rows = (await o.engine.list(o.project)).filter((r) => !finishedJob(r));
  if (rows.length === 0) throw new AgentError("COMPONENT_APPLY_FAILED", `${o.what}: no container of the component exists (the drift check restores missing ones)`);
  // No -t: each container stops within its own stop_grace_period, as compose set it.
  const argv = [o.engine.cli, "restart", ...rows.map((r) => r.id)];
  const r = await o.run(argv, { env: o.env, signal: o.signal, timeoutMs: 120_000 * rows.length });
  if (r.code !== 0) throw toolFailure(r, argv, o.what, "COMPONENT_APPLY_FAILED");
}

/**
 * The containers' output (`<cli> logs [--follow] [--tail N]`), stdout and
 * stderr merged line by line; with several containers each line is prefixed
 * `component/service | `. Cancelling the stream (or the signal) ends the
 * engine's processes. Throws LOGS_UNAVAILABLE when no container matches.
 */
export async function containerLogs(o: {
  engine: ContainerEngine;
  spawn: NonNullable<Platform["spawnStreaming"]>;
  env: Record<string, string>;
  deploymentId: string;
  opts: LogOptions;
}): Promise<ReadableStream<Uint8Array>> {
  const { deploymentId, opts } = o;
  const rows = (await o.engine.list())
    .filter((r) => r.labels[LABEL.deploymentId] === deploymentId && (opts.component === undefined || r.labels[LABEL.component] === opts.component))
    .sort((a, b) => label(a).localeCompare(label(b)));
  if (rows.length === 0) {
    throw new AgentError("LOGS_UNAVAILABLE", `no container of deployment ${deploymentId}${opts.component ? `, component ${opts.component},` : ""} exists on ${o.engine.name}`);
  }
  const sources: { stream: ReadableStream<Uint8Array>; prefix: string }[] = [];
  const procs = rows.map((row) => {
    const argv = [o.engine.cli, "logs", ...(opts.follow ? ["--follow"] : []), ...(opts.tail !== undefined ? ["--tail", String(opts.tail)] : []), row.id];
    const p = o.spawn(argv, { env: o.env, signal: opts.signal });
    const prefix = rows.length > 1 ? `${label(row)} | ` : "";
    sources.push({ stream: p.stdout, prefix }, { stream: p.stderr, prefix });
    return p;
  });
  return mergeLines(sources, () => procs.forEach((p) => p.kill()));
}

/** Interleaves several byte streams line by line (a line is never cut by another's), prefixing each. */
export function mergeLines(sources: { stream: ReadableStream<Uint8Array>; prefix: string }[], onCancel: () => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const readers = sources.map((s) => s.stream.getReader());
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const pumps = readers.map(async (reader, i) => {
        const decoder = new TextDecoder();
        const prefix = sources[i]!.prefix;
        let rest = "";
        const emit = (text: string) => {
          if (!cancelled && text) controller.enqueue(encoder.encode(text));
        };
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
          if (done) break;
          rest += decoder.decode(value, { stream: true });
          const cut = rest.lastIndexOf("\n");
          if (cut < 0) continue;
          emit(rest.slice(0, cut + 1).replace(/^(?=.)/gm, prefix));
          rest = rest.slice(cut + 1);
        }
        rest += decoder.decode();
        if (rest) emit(`${prefix}${rest}\n`);
      });
      void Promise.all(pumps).then(() => {
        if (!cancelled) controller.close();
      });
    },
    cancel() {
      cancelled = true;
      onCancel();
      for (const r of readers) void r.cancel().catch(() => {});
    },
  });
}
