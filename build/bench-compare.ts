/**
 * Several agent executables side by side, each started cold against the same
 * dev WFM with an onboarded data dir, beside the floor program: idle VmRSS,
 * RssAnon, RssFile and the cold first poll, optionally VmRSS after N polls and
 * the CPU per poll. This is how README's lever table (before/after of each
 * footprint lever) is measured: build the variants (another commit, other
 * flags), then compare them in one run.
 *
 *   bun build/bench-compare.ts [--rounds N] [--polls N] NAME=EXECUTABLE[,VAR=VALUE...] ...
 *
 * VAR=VALUE pairs are the executable's extra environment (e.g. BUN_JSC_useJIT=0).
 * The first executable also serves the dev WFM and onboards the data dir.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Child } from "./bench/child.ts";
import { privateCopy } from "./bench/cold.ts";
import { DevWfm } from "./bench/dev-wfm.ts";
import { FLOOR_CLIENT_ID, HELLO_ID, writeAgentConfig, writeFloorConfig } from "./bench/fixtures.ts";
import { coldIdle } from "./bench/idle.ts";
import { compileFloor, recordBytecodeOrder } from "./bench/programs.ts";
import { cpuMs, rssSplit } from "./bench/procfs.ts";
import { mib } from "./bench/table.ts";
import { ALL_TARGETS } from "./targets.ts";
import { freePort } from "../scripts/free-port.ts";

const repoRoot = resolve(import.meta.dir, "..");
const argv = process.argv.slice(2);
let rounds = 1;
let polls = 0;
const specs: { name: string; exe: string; env: Record<string, string> }[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--rounds") rounds = Number(argv[++i]);
  else if (a === "--polls") polls = Number(argv[++i]);
  else {
    const [name, rest] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    const [exe, ...vars] = rest.split(",");
    if (!name || !exe) throw new Error(`"${a}" is not NAME=EXECUTABLE[,VAR=VALUE...]`);
    specs.push({ name, exe: resolve(exe), env: Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)])) });
  }
}
if (specs.length === 0) {
  console.error("usage: bun build/bench-compare.ts [--rounds N] [--polls N] NAME=EXECUTABLE[,VAR=VALUE...] ...");
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), "margo-compare-"));
const children: Child[] = [];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MARGO_AGENT_") && !k.startsWith("BUN_JSC_"))) as Record<string, string>;
const start = (name: string, args: string[], extra: Record<string, string> = {}) => {
  const c = new Child(name, args, join(work, `${name}.log`), { ...env, ...extra });
  children.push(c);
  return c;
};

try {
  const wfm = await DevWfm.start(specs[0]!.exe, work, join(repoRoot, "examples/hello"), start);
  const apiPort = await freePort();
  const config = join(work, "agent.yaml");
  writeAgentConfig(config, { wfmUrl: wfm.url, dataDir: join(work, "data"), apiPort, pollInterval: "30s" });
  const onboard = start("onboard", [specs[0]!.exe, "run", "--config", config]);
  await wfm.reportArrives("installed report for examples/hello", (r) => r.deploymentId === HELLO_ID && r.state === "installed", 30_000);
  await onboard.stop();

  const floorPort = await freePort();
  const floorConfig = join(work, "floor.yaml");
  writeFloorConfig(floorConfig, { wfmUrl: wfm.url, dataDir: join(work, "floor-data"), apiPort: floorPort, pollIntervalMs: 30_000 });
  const x64 = ALL_TARGETS.find((t) => t.name === "x64")!;
  const unordered = await compileFloor({ repoRoot, target: x64, outfile: join(work, "floor-unordered") });
  const order = await recordBytecodeOrder(join(work, "floor.order"), (e) => start("floor-record", [unordered, floorConfig], e), () => wfm.nextPoll(FLOOR_CLIENT_ID), 2000);
  const floor = await compileFloor({ repoRoot, target: x64, outfile: join(work, "floor"), bytecodeOrder: order });

  const runs = [{ name: "floor", exe: floor, env: {} as Record<string, string>, floor: true }, ...specs.map((s) => ({ ...s, floor: false }))];
  for (let r = 0; r < rounds; r++) {
    for (const s of runs) {
      const file = privateCopy(s.exe, join(work, `exe-${s.name}`));
      const id = s.floor ? FLOOR_CLIENT_ID : wfm.clientId;
      const run = await coldIdle({
        file,
        start: () => start(`${s.name}-${r}`, s.floor ? [file, floorConfig] : [file, "run", "--config", config], s.env),
        firstPoll: () => wfm.nextPoll(id),
        keep: true,
      });
      const x = run.sample;
      let after = "";
      if (polls > 0) {
        const c0 = cpuMs(run.child.pid);
        for (let i = 0; i < polls; i++) await (await fetch(`http://127.0.0.1:${s.floor ? floorPort : apiPort}/v1/sync`, { method: "POST" })).arrayBuffer();
        const cpu = (cpuMs(run.child.pid) - c0) / polls;
        await Bun.sleep(1000);
        const a = rssSplit(run.child.pid);
        after = ` | after ${polls} polls: ${mib(a.rss)} (${(a.rss / x.rss).toFixed(2)}×), ${cpu.toFixed(2)} ms CPU per poll`;
      }
      await run.child.stop();
      console.log(`| ${s.name} | ${mib(x.rss)} | ${mib(x.anon)} | ${mib(x.file)} | ${x.firstPollMs?.toFixed(0)} ms${after} |`);
    }
  }
} finally {
  for (const c of children) c.kill();
  rmSync(work, { recursive: true, force: true });
}
