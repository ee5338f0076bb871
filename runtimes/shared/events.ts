/**
 * Engine event streams: what an event line means for drift (both engines'
 * formats), one connection as an async iterable of events, and the loop that
 * keeps a connection up, reconnecting with backoff.
 *
 * A connection is either Docker's /events over its unix socket (no process of
 * its own) or an engine CLI that streams JSON lines (`podman events`, `docker
 * events` when DOCKER_HOST is not a local socket). Lines come through
 * node:child_process and node:http, which Bun and Deno both provide: the
 * Platform seam has no streaming process, and this is adapter code.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import type { EngineEvent, WatchHandlers } from "../types.ts";
import { LABEL, MANAGED_BY } from "./naming.ts";
import { sleep } from "../../src/util/timer.ts";

/** Engine actions that may leave a component not running. Podman says "died" where Docker says "die", and "remove" for "destroy". */
const DRIFT_ACTIONS: Record<string, EngineEvent["action"]> = { die: "die", died: "die", stop: "stop", kill: "kill", destroy: "remove", remove: "remove" };

/**
 * One event line of `docker events --format '{{json .}}'`, Docker's /events, or
 * `podman events --format json`, as a drift event; undefined for anything else
 * (other actions, other objects, containers not ours, lines that are not JSON).
 */
export function parseEventLine(line: string): EngineEvent | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof raw !== "object" || raw === null || raw.Type !== "container") return undefined;
  // Docker: Action, Actor.ID, Actor.Attributes (labels among them); Podman: Status, ID, Attributes.
  const actor = (raw.Actor ?? {}) as { ID?: unknown; Attributes?: unknown };
  const action = DRIFT_ACTIONS[String(raw.Action ?? raw.Status ?? "")];
  const id = actor.ID ?? raw.ID ?? raw.id;
  const attrs = (actor.Attributes ?? raw.Attributes ?? {}) as Record<string, unknown>;
  if (!action || typeof id !== "string" || attrs[LABEL.managedBy] !== MANAGED_BY) return undefined;
  const event: EngineEvent = { action, containerId: id };
  if (typeof attrs[LABEL.deploymentId] === "string") event.deploymentId = attrs[LABEL.deploymentId] as string;
  if (typeof attrs[LABEL.component] === "string") event.component = attrs[LABEL.component] as string;
  return event;
}

/** One connection: `onUp` once it is established; yields lines until it ends (returns) or fails (throws). */
export type LineStream = (signal: AbortSignal, onUp: () => void) => AsyncIterable<string>;

/** Splits a byte stream into lines. */
async function* lines(chunks: AsyncIterable<Buffer | string>): AsyncIterable<string> {
  let rest = "";
  for await (const chunk of chunks) {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) if (p.trim()) yield p;
  }
  if (rest.trim()) yield rest;
}

/**
 * A CLI that prints one JSON event per line until killed. It counts as up once
 * it has run for `upAfterMs` without exiting: the CLIs print nothing on connect,
 * and one that cannot reach its engine exits within that time.
 */
export function cliLines(argv: string[], env: Record<string, string>, upAfterMs = 500): LineStream {
  return async function* (signal, onUp) {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once("exit", (code) => resolve({ code }));
      child.once("error", (error) => resolve({ code: null, error }));
    });
    const kill = () => child.kill("SIGKILL");
    signal.addEventListener("abort", kill, { once: true });
    const upTimer = setTimeout(() => child.exitCode === null && onUp(), upAfterMs);
    try {
      yield* lines(child.stdout!);
      const { code, error } = await exited;
      if (signal.aborted) return;
      throw new Error(`${argv.slice(0, 2).join(" ")} ended (${error ? error.message : `exit ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`);
    } finally {
      clearTimeout(upTimer);
      signal.removeEventListener("abort", kill);
      kill();
    }
  };
}

/** Docker's /events over its unix socket, filtered by the daemon to our containers. */
export function dockerSocketLines(socketPath: string): LineStream {
  const filters = JSON.stringify({ type: ["container"], label: [`${LABEL.managedBy}=${MANAGED_BY}`], event: ["die", "stop", "kill", "destroy"] });
  return async function* (signal, onUp) {
    const res = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath, path: `/events?filters=${encodeURIComponent(filters)}`, method: "GET", signal }, resolve);
      req.once("error", reject);
      req.end();
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new Error(`GET /events on ${socketPath} answered ${res.statusCode}`);
    }
    onUp();
    try {
      yield* lines(res);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
    if (!signal.aborted) throw new Error(`the event stream of ${socketPath} ended`);
  };
}

/** The local unix socket DOCKER_HOST names (or Docker's default), or undefined when the CLI must be asked (tcp, ssh, contexts). */
export function dockerSocketPath(env: Record<string, string | undefined>): string | undefined {
  const host = env.DOCKER_HOST;
  if (host === undefined || host === "") return env.DOCKER_CONTEXT ? undefined : "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

export interface FollowOptions {
  /** First retry after this long; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A connection that stayed up this long resets the backoff. */
  stableMs?: number;
}

/**
 * Keeps `connect` connected until `signal` aborts: every line through
 * parseEventLine to onEvent, onStatus(true) on connect and onStatus(false, why)
 * when it drops, then a reconnect after a backoff (1 s, 2 s, … 30 s).
 */
export async function follow(connect: LineStream, handlers: WatchHandlers, signal: AbortSignal, o: FollowOptions = {}): Promise<void> {
  const base = o.backoffMs ?? 1000;
  const max = o.maxBackoffMs ?? 30_000;
  const stable = o.stableMs ?? 30_000;
  let delay = base;
  while (!signal.aborted) {
    let upAt: number | undefined;
    let why = "";
    try {
      for await (const line of connect(signal, () => {
        upAt = performance.now();
        handlers.onStatus?.(true);
      })) {
        const event = parseEventLine(line);
        if (event) handlers.onEvent(event);
      }
      why = "the event stream ended";
    } catch (err) {
      why = String((err as Error)?.message ?? err);
    }
    if (signal.aborted) return;
    if (upAt !== undefined && performance.now() - upAt >= stable) delay = base;
    handlers.onStatus?.(false, why);
    try {
      await sleep(delay, signal);
    } catch {
      return;
    }
    delay = Math.min(max, delay * 2);
  }
}
