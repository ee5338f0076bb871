/**
 * `bun build/record-bytecode-order.ts`: records which functions `margo-agent
 * run` uses when it starts and polls, into build/bytecode-order/run.txt, which
 * `npm run build` lays the executable's bytecode out by (build/compile.ts).
 *
 * The run is the common one on a device: a restart with an onboarded data
 * directory, the service's environment (init/margo-agent.service), the dev
 * WFM serving examples/hello, simulated runtime. Re-record after larger
 * changes to what `run` does at start; an older profile still applies, it
 * just covers less.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Child } from "./bench/child.ts";
import { DevWfm } from "./bench/dev-wfm.ts";
import { HELLO_ID, writeAgentConfig } from "./bench/fixtures.ts";
import { recordBytecodeOrder } from "./bench/programs.ts";
import { serviceEnvironment } from "./bench/service-env.ts";
import { BYTECODE_ORDER, compileTarget } from "./compile.ts";
import { ALL_TARGETS } from "./targets.ts";
import { defineArgs, readEmbeddedVersion } from "./version.ts";
import { freePort } from "../scripts/free-port.ts";

const repoRoot = resolve(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "margo-order-"));
const children: Child[] = [];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MARGO_AGENT_") && k !== "BUN_BYTECODE_ORDER_OUT")) as Record<string, string>;
const start = (name: string, argv: string[], extra: Record<string, string> = {}) => {
  const c = new Child(name, argv, join(work, `${name}.log`), { ...env, ...extra });
  children.push(c);
  return c;
};

try {
  const host = ALL_TARGETS.find((t) => t.bunTarget === `bun-linux-${process.arch}`);
  if (!host) throw new Error(`no build target for this machine (${process.arch})`);
  // Without an order: the profile must say what the code does, not what the last profile said.
  const built = await compileTarget({ bunExecutable: process.execPath, repoRoot, entry: join(repoRoot, "src/cli.ts"), outdir: work, target: host, defines: defineArgs(readEmbeddedVersion(repoRoot)) });
  if (!built.ok) throw new Error(`compiling failed (exit ${built.exitCode}):\n${built.log}`);
  const exe = built.outfile;

  const wfm = await DevWfm.start(exe, work, join(repoRoot, "examples/hello"), start);
  const config = join(work, "agent.yaml");
  writeAgentConfig(config, { wfmUrl: wfm.url, dataDir: join(work, "data"), apiPort: await freePort(), pollInterval: "100ms" });
  const onboard = start("agent-onboard", [exe, "run", "--config", config]);
  await wfm.reportArrives("installed report for examples/hello", (r) => r.deploymentId === HELLO_ID && r.state === "installed", 30_000);
  await onboard.stop();

  const out = join(work, "run.txt");
  await recordBytecodeOrder(out, (extra) => start("agent", [exe, "run", "--config", config], { ...serviceEnvironment(repoRoot), ...extra }), () => wfm.nextPoll(wfm.clientId), 3000);
  const dest = join(repoRoot, BYTECODE_ORDER);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(out, dest);
  console.log(`record-bytecode-order: wrote ${BYTECODE_ORDER}`);
} catch (err) {
  console.error(`record-bytecode-order: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)} (logs in ${work})`);
  for (const c of children) c.kill();
  process.exit(1);
}
for (const c of children) c.kill();
rmSync(work, { recursive: true, force: true });
