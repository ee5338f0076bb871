/**
 * Child process of clock-step.test.ts, run under libfaketime: waits for a
 * component through the real waitForProject with an engine whose container
 * becomes healthy when a marker file appears. Prints one JSON line per event.
 */
import { existsSync } from "node:fs";
import type { ContainerEngine } from "../../../runtimes/shared/engine.ts";
import { waitForProject } from "../../../runtimes/shared/wait.ts";

const [marker, timeoutMs] = [process.argv[2]!, Number(process.argv[3])];
const engine: ContainerEngine = {
  name: "fake",
  cli: "true",
  prepareCompose: async () => ({}),
  version: async () => ({ reachable: true }),
  list: async () => [{ id: "c1", labels: { "com.docker.compose.service": "web" }, state: "running", health: existsSync(marker) ? "healthy" : "starting" }],
};
console.log(JSON.stringify({ event: "waiting" }));
try {
  await waitForProject({ engine, run: async () => ({ code: 0, stdout: "", stderr: "", killed: false }), project: "p", services: ["web"], timeoutMs, pollMs: 50, signal: new AbortController().signal, what: "component web" });
  console.log(JSON.stringify({ event: "done" }));
} catch (err) {
  console.log(JSON.stringify({ event: "failed", code: (err as { code?: string }).code, message: String(err) }));
}
