/**
 * Measurements (not a test: run `bun test/integration/oci/measure.ts`): pull time and the agent's
 * CPU (process.cpuUsage, this process only; the registry is another process) for a 10 MiB compose
 * archive from a loopback registry with TLS, pulled into a fresh cache each round; then the same
 * with the unpack. Prints one JSON line.
 */
import { randomBytes } from "node:crypto";
import { ARTIFACT_KINDS } from "../../../src/oci/media-types.ts";
import { fetchComposeComponent } from "../../../src/oci/component.ts";
import { parseComponentReference } from "../../../src/oci/reference.ts";
import { makePki, startRegistry } from "../../support/registry.ts";
import { COMPOSE, accessFor, cleanup, newPuller, pushApp, transportFor } from "./fixture.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const pki = await makePki();
const reg = await startRegistry(pki);
try {
  const access = accessFor(pki, [reg.host]);
  // Random bytes do not compress: the layer is 10 MiB on the wire.
  const pushed = await pushApp(transportFor(access), reg.host, "bench/ten", "1.0.0", { "compose.yaml": COMPOSE, "payload.bin": randomBytes(10 * 1024 * 1024) });
  const ref = parseComponentReference(`oci://${reg.host}/bench/ten`, "1.0.0");
  const pull: { ms: number; cpuMs: number }[] = [];
  const withUnpack: { ms: number; cpuMs: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [list, unpack] of [[pull, false], [withUnpack, true]] as const) {
      const puller = await newPuller(access, { limits: { maxBlobBytes: 64 << 20 } });
      Bun.gc(true);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      if (unpack) await fetchComposeComponent(puller, { deploymentId: "bench", componentName: "ten", repository: `oci://${reg.host}/bench/ten`, revision: "1.0.0" });
      else await puller.pull(ref, ARTIFACT_KINDS.compose);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      list.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = (l: { ms: number; cpuMs: number }[]) => ({ medianMs: Math.round(median(l.map((x) => x.ms))), medianCpuMs: Math.round(median(l.map((x) => x.cpuMs))), minMs: Math.round(Math.min(...l.map((x) => x.ms))) });
  console.log(JSON.stringify({ layerBytes: pushed.layerSize, rounds: ROUNDS, pull: summary(pull), pullAndUnpack: summary(withUnpack), rssMiB: Math.round(process.memoryUsage().rss / 1048576) }));
} finally {
  await cleanup();
}
