/**
 * Drift from engine events, per real engine, with 20 running deployments: how
 * soon a container removed by hand is seen (and running again), and the idle
 * CPU per minute of following events against the periodic inspection it
 * replaces (reconcile.driftInterval, 60 s by default). Not a test: run with
 * `bun build/bench-drift.ts [podman|docker]` (about two minutes per engine).
 *
 * CPU counts this process (the adapter, the DriftWatch), the processes it
 * starts (`podman events`; the `ps` of an inspection) and, for Docker, dockerd;
 * other users of the same engine show up in dockerd's figure. This process's
 * figure is from /proc/self/stat (10 ms ticks), which keeps ended threads.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "./bench/table.ts";
import { createComposeRuntime } from "../runtimes/compose/index.ts";
import { createPodmanRuntime } from "../runtimes/podman/index.ts";
import type { DeploymentRef, ResolvedComponent } from "../runtimes/types.ts";
import { DriftWatch } from "../src/agent/drift-watch.ts";
import { bunPlatform } from "../src/platform/bun/index.ts";
import { TEST_IMAGE, ensureTestImage } from "../test/support/images.ts";

const DEPLOYMENTS = 20;
const REMOVALS = 5;
const IDLE_MS = 60_000;
const HZ = 100; // USER_HZ

/** utime+stime of a process and of its waited-for children, in ms (/proc/PID/stat). */
function ticksMs(pid: number | "self"): { own: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  return { own: ((f[11]! + f[12]!) / HZ) * 1000, children: ((f[13]! + f[14]!) / HZ) * 1000 };
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

async function pidsOf(argv: string[]): Promise<number[]> {
  const r = await bunPlatform.run(argv);
  return r.stdout.trim().split("\n").filter(Boolean).map(Number);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function bench(engine: "podman" | "docker"): Promise<void> {
  await ensureTestImage(engine);
  const cli = engine === "podman" ? "podman" : "docker";
  const root = await mkdtemp(join(tmpdir(), "margo-bench-drift-"));
  const adapter = engine === "podman" ? createPodmanRuntime({ platform: bunPlatform, runDir: join(root, "run"), idleSeconds: 30 }) : createComposeRuntime({ platform: bunPlatform });
  const file = join(root, "compose.yaml");
  await writeFile(file, `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL\n`);
  const deps: DeploymentRef[] = Array.from({ length: DEPLOYMENTS }, (_, i) => ({ deploymentId: `bench-drift-${engine}-${i}`, name: `d${i}`, digest: `sha256:${"d".repeat(64)}` }));
  const component: ResolvedComponent = { name: "app", composeFile: file, packageDigest: deps[0]!.digest, env: {}, wait: false, timeoutMs: 60_000 };
  const ctx = { signal: new AbortController().signal, workDir: join(root, "work") };
  const ids = new Set(deps.map((d) => d.deploymentId));
  try {
    for (const d of deps) await adapter.applyComponent(d, component, ctx);

    // ---------------------------------------------------------------- detection latency
    let eventAt = 0;
    let checkAt = 0;
    let repairedAt = 0;
    const watch = new DriftWatch({
      watch: (h, s) => adapter.watch!({ onEvent: (e) => ((eventAt ||= performance.now()), h.onEvent(e)), onStatus: h.onStatus }, s),
      relevant: (e) => e.deploymentId !== undefined && ids.has(e.deploymentId),
      checkDrift: async () => {
        checkAt ||= performance.now();
        // What the agent's drift reconcile does: inspect, then bring back what is missing.
        const seen = new Set((await adapter.inspect()).map((o) => o.deploymentId));
        for (const d of deps) if (!seen.has(d.deploymentId)) await adapter.applyComponent(d, component, ctx);
        repairedAt ||= performance.now();
      },
    });
    watch.start();
    await until("the event stream", () => watch.up);
    const seenMs: number[] = [];
    const checkMs: number[] = [];
    const backMs: number[] = [];
    for (let i = 0; i < REMOVALS; i++) {
      const victim = deps[i]!.deploymentId;
      const id = (await bunPlatform.run([cli, "ps", "-q", "--no-trunc", "--filter", `label=org.margo.deployment-id=${victim}`])).stdout.trim().split("\n")[0];
      eventAt = checkAt = repairedAt = 0;
      // From the moment the removal is asked for: the event may arrive before the CLI has exited.
      const removedAt = performance.now();
      const rm = await bunPlatform.run([cli, "rm", "-f", id!]);
      if (rm.code !== 0) throw new Error(`${cli} rm -f: ${rm.stderr}`);
      await until("the repair", () => repairedAt > 0);
      seenMs.push(eventAt - removedAt);
      checkMs.push(checkAt - removedAt);
      backMs.push(repairedAt - removedAt);
      await Bun.sleep(500);
    }

    // ---------------------------------------------------------------- idle CPU per minute, watching
    const daemon = engine === "docker" ? (await pidsOf(["pgrep", "-xo", "dockerd"]))[0] : undefined;
    const eventProc = engine === "podman" ? (await pidsOf(["pgrep", "-P", String(process.pid), "-f", "podman events"]))[0] : undefined;
    const take = () => ({ self: ticksMs("self").own, kids: ticksMs("self").children, ev: eventProc && watch.up ? ticksMs(eventProc).own : 0, d: daemon ? ticksMs(daemon).own : 0 });
    const w0 = take();
    const checks0 = watch.counts.checks;
    await Bun.sleep(IDLE_MS);
    const w1 = take();
    const watchChecks = watch.counts.checks - checks0;
    const eventRss = eventProc ? rssMiB(eventProc) : 0;
    watch.stop();

    // ---------------------------------------------------------------- one periodic inspection (the default: one per minute)
    const cycles = 10;
    const p0 = take();
    for (let i = 0; i < cycles; i++) await adapter.inspect();
    const p1 = take();
    const per = (a: number, b: number, n = 1) => ((b - a) / n).toFixed(1);
    console.log(`## ${engine}, ${DEPLOYMENTS} running deployments`);
    console.log(`- container removed by hand (\`${cli} rm -f\` started) → event: median ${median(seenMs).toFixed(0)} ms; → drift check starts: ${median(checkMs).toFixed(0)} ms (debounce 200 ms included); → running again: ${median(backMs).toFixed(0)} ms (max ${Math.max(...backMs).toFixed(0)} ms; ${REMOVALS} removals)`);
    console.log(
      `- idle CPU per minute, following events: agent process ${per(w0.self, w1.self)} ms` +
        (eventProc ? `, \`podman events\` ${per(w0.ev, w1.ev)} ms (resident ${eventRss.toFixed(1)} MiB)` : "") +
        (daemon ? `, dockerd ${per(w0.d, w1.d)} ms (all its clients: other users of the engine count here)` : "") +
        `; drift checks in that minute: ${watchChecks}`,
    );
    console.log(
      `- one periodic inspection (the default reconcile.driftInterval 60 s: one per minute): agent process ${per(p0.self, p1.self, cycles)} ms, \`${cli} ps\` ${per(p0.kids, p1.kids, cycles)} ms` +
        (daemon ? `, dockerd ${per(p0.d, p1.d, cycles)} ms` : ""),
    );
  } finally {
    for (const d of deps) await adapter.removeComponent(d, "app", ctx).catch((e) => console.error(String(e)));
    await adapter.close();
    await rm(root, { recursive: true, force: true });
  }
}

const which = process.argv[2];
for (const e of ["podman", "docker"] as const) if (!which || which === e) await bench(e);
