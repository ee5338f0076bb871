/** Shared bits of the identity/onboarding/capabilities tests: temp dirs, configs, a log that can be read back. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { RuntimeAdapter } from "../../../runtimes/types.ts";
import { loadConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { createLogger, type Logger } from "../../../src/log.ts";

const roots: string[] = [];

export function tempDir(prefix = "margo-idint-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A validated config, as loadConfig would give it, with `sets` (key=value) applied. */
export function testConfig(sets: string[] = []): Config {
  return loadConfig({ env: {}, sets: ["wfm.profile=v1", "wfm.url=https://wfm.example.com", ...sets] });
}

export interface CapturedLog {
  log: Logger;
  lines: () => Record<string, unknown>[];
}

export function captureLog(level = "debug"): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger(level, stream), lines: () => lines };
}

/** A runtime adapter that only answers what the capabilities need. */
export function fakeRuntime(name: string, profiles: () => string[]): RuntimeAdapter {
  const unused = () => Promise.reject(new Error("not used by these tests"));
  return {
    name,
    supportedProfiles: async () => profiles() as Awaited<ReturnType<RuntimeAdapter["supportedProfiles"]>>,
    engineInfo: async () => ({ runtime: name, reachable: true }),
    applyComponent: unused,
    removeComponent: unused,
    inspect: async () => [],
  };
}
