import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { packageResolver } from "../../../src/bootstrap/resolve-components.ts";
import { writeTarGz } from "../../../src/archive/index.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";

const COMPOSE = "services:\n  web:\n    image: x\n";
const wfm = startFakeWfm();
wfm.set("/pkg/compose.yaml", COMPOSE);
afterAll(() => wfm.stop());

const deployment = { id: "d", name: "d", profileType: "compose" as const, env: { web: { A: "1" } }, components: [] };
const component = { name: "web", packageLocation: `${wfm.url}/pkg/compose.yaml`, timeoutMs: 1000, wait: false };

test("a component fails early with DISK_SPACE_LOW when the engine's storage is below the reserve", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "reserve-"));
  const config = loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", "packages.reserve=1MiB"] });
  const engineDir = mkdtempSync(join(tmpdir(), "engine-"));
  const ok = await packageResolver(config, bunPlatform, { engineStorage: [engineDir] })(deployment, component, new AbortController().signal);
  expect(ok.env).toEqual({ A: "1" });

  const huge = loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", "packages.reserve=1000000GiB"] });
  const err = await packageResolver(huge, bunPlatform, { engineStorage: [engineDir] })(deployment, component, new AbortController().signal).catch((e) => e);
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
  const result = await packageResolver(config, bunPlatform, { engineStorage: [engineDir] })(deployment, component, new AbortController().signal).catch((e) => e as AgentError);
  expect((result as AgentError).code).toBe("DISK_SPACE_LOW");
  expect((result as AgentError).message).toContain(b < a ? engineDir : dataDir);
});

/**
 * On a real small file system (a 20 MiB tmpfs; needs root, skipped otherwise): the reserve is
 * kept while a package is written, not only checked before. The unit tests in
 * test/unit/packages/resolve.test.ts cover the same with a fake free-space probe.
 */
describe("on a 20 MiB tmpfs with an 8 MiB reserve", () => {
  const mnt = mkdtempSync(join(tmpdir(), "reserve-tmpfs-"));
  let mounted = false;
  beforeAll(() => {
    mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", mnt]).exitCode === 0;
    if (!mounted) console.warn("[skip] cannot mount a tmpfs here (not root?): the reserve-while-writing tests do not run");
  });
  afterAll(() => {
    if (mounted) Bun.spawnSync(["umount", mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  const free = () => Number(statfsSync(mnt).bavail) * Number(statfsSync(mnt).bsize);
  const resolverOn = (dataDir: string) =>
    packageResolver(loadConfig({ sets: ["wfm.url=https://x", `dataDir=${dataDir}`, "packages.allowInsecureHttp=true", "packages.reserve=8MiB", "packages.maxBytes=64MiB"] }), bunPlatform, { engineStorage: [] });

  test.each([
    // 14 MiB of random bytes: the download itself would leave 6 MiB.
    ["downloading", () => writeTarGz([{ path: "compose.yaml", data: new TextEncoder().encode(COMPOSE) }, { path: "blob.bin", data: randomBytes(14 << 20) }])],
    // 4 MiB of text that unpacks to 14 MiB: the download fits, the unpacked files would leave 2 MiB.
    ["unpacking", () => {
      let text = "";
      for (let i = 0; text.length < 14 << 20; i++) text += `setting.${i}=${(i * 7919) % 100003}\n`;
      return writeTarGz([{ path: "compose.yaml", data: new TextEncoder().encode(COMPOSE) }, { path: "settings.ini", data: new TextEncoder().encode(text) }]);
    }],
  ])("a package whose %s would cross the reserve fails with DISK_SPACE_LOW and leaves the space as it was", async (_, build) => {
    if (!mounted) return;
    const dataDir = mkdtempSync(join(mnt, "agent-"));
    const name = `/pkg/${_}.tar.gz`;
    wfm.set(name, build());
    const before = free();
    expect(before).toBeGreaterThan(16 << 20);
    const err = await resolverOn(dataDir)(deployment, { ...component, packageLocation: `${wfm.url}${name}` }, new AbortController().signal).catch((e) => e);
    expect((err as AgentError).code).toBe("DISK_SPACE_LOW");
    expect(free()).toBe(before);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
