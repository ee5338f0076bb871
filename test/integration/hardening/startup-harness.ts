/**
 * Real processes for the start-up hardening tests: `bun src/cli.ts run` (or
 * `config check`) as a child, its JSON log lines collected as they come, and a
 * tiny real WFM on 127.0.0.1 that counts the manifest polls it answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";

export const ROOT = resolve(import.meta.dir, "../../..");
export const CLI = join(ROOT, "src/cli.ts");

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CountingWfm {
  url: string;
  polls: number;
  stop(): Promise<void>;
}

/** Answers client dev-1's manifest with an empty desired state (then 304), takes every report and capabilities POST. */
export function countingWfm(): CountingWfm {
  const manifest = JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [] });
  const etag = '"empty-1"';
  const wfm: CountingWfm = { url: "", polls: 0, stop: async () => server.stop(true) };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/api/v1/clients/dev-1/deployments") {
        wfm.polls++;
        if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers: { etag } });
        return new Response(manifest, { headers: { "content-type": MANIFEST_MEDIA_TYPE, etag } });
      }
      if (req.method === "POST" || req.method === "PUT") return new Response(null, { status: 201 });
      return new Response("not found", { status: 404 });
    },
  });
  wfm.url = `http://127.0.0.1:${server.port}`;
  return wfm;
}

/** A config file for `run` against `wfmUrl` as client dev-1 (no onboarding), simulated runtime. */
export function writeConfig(dir: string, wfmUrl: string, extra: string[] = [], name = "config.yaml"): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      "wfm:",
      "  profile: v1", // the default is rc3 (issue 12); this is a v1 WFM
      `  url: ${wfmUrl}`,
      "  clientId: dev-1",
      "  allowInsecureHttp: true",
      "  requestTimeout: 5s",
      `dataDir: ${join(dir, "data")}`,
      "runtime: simulated",
      "device: {id: hardening-dev}",
      "log: {level: info}",
      ...extra,
    ].join("\n") + "\n",
  );
  return file;
}

export interface AgentProcess {
  proc: ReturnType<typeof Bun.spawn>;
  pid: number;
  /** JSON log lines written to stdout so far. */
  lines(): Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

async function collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.push(decoder.decode(chunk, { stream: true }));
}

/** Starts `bun src/cli.ts ARGS…` with a clean environment (PATH and HOME only, plus `env`). */
export function spawnCli(args: string[], env: Record<string, string> = {}): AgentProcess {
  const out: string[] = [];
  const err: string[] = [];
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  const done = Promise.all([collect(proc.stdout as ReadableStream<Uint8Array>, out), collect(proc.stderr as ReadableStream<Uint8Array>, err)]);
  const stdout = () => out.join("");
  return {
    proc,
    pid: proc.pid,
    stdout,
    stderr: () => err.join(""),
    lines: () =>
      stdout()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited: proc.exited.then(async (code) => {
      await done;
      return code;
    }),
  };
}

/** Polls `cond` every 25 ms; throws (with `diagnose()`) after `limitMs`. A liveness bound, not a measurement. */
export async function waitFor(what: string, cond: () => boolean, limitMs = 20_000, diagnose?: () => string): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}${diagnose ? `:\n${diagnose()}` : ""}`);
    await Bun.sleep(25);
  }
}

/** The exit code, or a thrown error if the process is still running after `limitMs` (it is killed then). */
export async function exitWithin(p: AgentProcess, limitMs = 20_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), limitMs)));
  const result = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (result === "hung") {
    p.proc.kill("SIGKILL");
    await p.exited;
    throw new Error(`the process did not exit within ${limitMs} ms; its log:\n${p.stdout().slice(-3000)}\n${p.stderr().slice(-2000)}`);
  }
  return result;
}
