/**
 * CPU cost of one idle inspect() cycle with 20 running deployments, per real
 * adapter. Not a test: run with `bun build/bench-inspect.ts [podman|docker]`.
 * Counts the agent process, its waited-for children (the one `ps` call) and,
 * for Docker, dockerd; prints per-cycle averages over CYCLES cycles.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createComposeRuntime } from "../runtimes/compose/index.ts";
import { createPodmanRuntime } from "../runtimes/podman/index.ts";
import type { DeploymentRef } from "../runtimes/types.ts";
import { bunPlatform } from "../src/platform/bun/index.ts";
import { TEST_IMAGE, ensureTestImage } from "../test/support/images.ts";

const DEPLOYMENTS = 20;
const CYCLES = 20;
const TICK = 100; // USER_HZ

async function ticks(pid: number | "self"): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  // fields 14..17 (1-based) are utime stime cutime cstime; f starts at field 3
  return { own: f[11]! + f[12]!, children: f[13]! + f[14]! };
}

async function pidOf(name: string): Promise<number | null> {
  const r = await bunPlatform.run(["pgrep", "-xo", name]);
  return r.code === 0 ? Number(r.stdout.trim()) : null;
}

async function bench(engine: "podman" | "docker") {
  await ensureTestImage(engine);
  const root = await mkdtemp(join(tmpdir(), "margo-bench-"));
  const adapter = engine === "podman"
    ? createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30 })
    : createComposeRuntime({ platform: bunPlatform });
  const file = join(root, "compose.yaml");
  await writeFile(file, `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n`);
  const deps: DeploymentRef[] = Array.from({ length: DEPLOYMENTS }, (_, i) => ({ deploymentId: `bench-${engine}-${i}`, name: `b${i}`, digest: `sha256:${"e".repeat(64)}` }));
  const ctx = { signal: new AbortController().signal, workDir: join(root, "work") };
  try {
    for (const d of deps) {
      await adapter.applyComponent(d, { name: "app", composeFile: file, packageDigest: d.digest, env: {}, wait: false, timeoutMs: 60_000 }, ctx);
    }
    await adapter.inspect(); // warm-up
    const daemon = engine === "docker" ? await pidOf("dockerd") : null;
    const self0 = await ticks("self");
    const d0 = daemon ? await ticks(daemon) : null;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let seen = 0;
    for (let i = 0; i < CYCLES; i++) seen = (await adapter.inspect()).length;
    const wall = (performance.now() - t0) / CYCLES;
    const cpu = process.cpuUsage(cpu0);
    const self1 = await ticks("self");
    const d1 = daemon ? await ticks(daemon) : null;
    const ms = (t: number) => ((t / TICK) * 1000) / CYCLES;
    console.log(
      `${engine}: ${seen} deployments seen; per inspect() cycle: wall ${wall.toFixed(0)} ms, ` +
        `agent ${((cpu.user + cpu.system) / 1000 / CYCLES).toFixed(1)} ms CPU, ` +
        `ps child ${ms(self1.children - self0.children).toFixed(0)} ms CPU` +
        (d0 && d1 ? `, dockerd ${ms(d1.own - d0.own).toFixed(0)} ms CPU` : ""),
    );
  } finally {
    for (const d of deps) await adapter.removeComponent(d, "app", ctx).catch((e) => console.error(String(e)));
    await adapter.close();
    await rm(root, { recursive: true, force: true });
  }
}

const which = process.argv[2];
for (const e of ["podman", "docker"] as const) if (!which || which === e) await bench(e);
