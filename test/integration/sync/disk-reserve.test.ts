import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunPlatform } from "../../../src/adapter/bun/index.ts";
import { packageResolver } from "../../../src/agent/resolve-components.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";

const wfm = startFakeWfm();
wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: x\n");
afterAll(() => wfm.stop());

const deployment = { id: "d", name: "d", profileType: "compose" as const, env: { web: { A: "1" } }, components: [] };
const component = { name: "web", packageLocation: `${wfm.url}/pkg/compose.yaml`, timeoutMs: 1000, wait: false };

test("a component fails early with DISK_SPACE_LOW when the engine's storage is below the reserve", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "reserve-"));
  const config = loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", "packages.reserve=1MiB"] });
  const engineDir = mkdtempSync(join(tmpdir(), "engine-"));
  const ok = await packageResolver(config, bunPlatform, [engineDir])(deployment, component, new AbortController().signal);
  expect(ok.env).toEqual({ A: "1" });

  const huge = loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", "packages.reserve=1000000GiB"] });
  const err = await packageResolver(huge, bunPlatform, [engineDir])(deployment, component, new AbortController().signal).catch((e) => e);
  expect(err).toBeInstanceOf(AgentError);
  expect((err as AgentError).code).toBe("DISK_SPACE_LOW");
});

test("the engine's storage is checked on its own file system", async () => {
  const { statfsSync } = await import("node:fs");
  const dataDir = mkdtempSync(join(tmpdir(), "reserve-"));
  const free = (dir: string) => Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize);
  const engineDir = mkdtempSync("/dev/shm/engine-");
  const [a, b] = [free(dataDir), free(engineDir)];
  if (Math.abs(a - b) < 64 * 1024 * 1024) {
    console.warn("[skip] data dir and /dev/shm have about the same free space here; cannot separate the two checks");
    return;
  }
  // A reserve between the two: only the smaller file system is below it.
  const reserve = Math.floor((a + b) / 2);
  const config = loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", `packages.reserve=${reserve}`] });
  const result = await packageResolver(config, bunPlatform, [engineDir])(deployment, component, new AbortController().signal).catch((e) => e as AgentError);
  expect((result as AgentError).code).toBe("DISK_SPACE_LOW");
  expect((result as AgentError).message).toContain(b < a ? engineDir : dataDir);
});
