/**
 * The fleet figure (issue 17, docs/simulate.md): N simulated rc3 devices
 * (src/simulate/) in this process against the dev WFM in its own process,
 * polling every --interval ±--jitter. It measures the sustained rate and the
 * dev WFM's CPU; then changes the desired state so reports are under way, stops
 * the WFM for --outage, starts it again on the same port and state, and
 * records the requests and reports arriving per second. Writes
 * docs/img/fleet-outage.{png,svg,json} (PNG by headless Chromium when
 * installed).
 *
 *   bun build/bench-fleet.ts [--devices 10000] [--interval 30s] [--jitter 0.2]
 *     [--steady 90s] [--outage 5m] [--after 3m] [--apply-delay 45s] [--out DIR]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "../src/log.ts";
import { bunPlatform } from "../src/platform/bun/index.ts";
import { ErrorTally } from "../src/simulate/error-tally.ts";
import { Fleet, fleetBaseConfig } from "../src/simulate/fleet.ts";
import { parseDuration } from "../src/util/duration.ts";
import { Child } from "./bench/child.ts";
import { cpuMs, rssBytes } from "./bench/procfs.ts";
import { outageChart } from "./bench/fleet-chart.ts";
import { applicationDeploymentYaml } from "../test/support/deployment-yaml.ts";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    interval: { type: "string", default: "30s" },
    jitter: { type: "string", default: "0.2" },
    steady: { type: "string", default: "90s" },
    outage: { type: "string", default: "5m" },
    after: { type: "string", default: "3m" },
    "apply-delay": { type: "string", default: "45s" },
    out: { type: "string", default: resolve(import.meta.dir, "../docs/img") },
  },
});
const ms = (flag: keyof typeof values) => {
  const v = parseDuration(String(values[flag]));
  if (v === undefined) throw new Error(`--${flag} ${values[flag]}: expected a duration`);
  return v;
};
const DEVICES = Number(values.devices);
const INTERVAL = ms("interval");
const STEADY = ms("steady");
const OUTAGE = ms("outage");
const AFTER = ms("after");
const APPLY_DELAY = ms("apply-delay");
const CLI = resolve(import.meta.dir, "../src/cli.ts");
const say = (text: string) => console.error(`[fleet] ${text}`);

const root = mkdtempSync(join(tmpdir(), "bench-fleet-"));
const dir = join(root, "wfm");
const stateDir = join(root, "wfm-state");
mkdirSync(join(dir, "packages/app"), { recursive: true });
writeFileSync(join(dir, "packages/app/compose.yaml"), 'services:\n  app:\n    image: localhost/margo-test/busybox:1\n    environment: {VALUE: "${VALUE}"}\n');
const deployment = (value: string) => applicationDeploymentYaml({ id: "fleet-app", package: { repository: "oci://{{WFM_HOST}}/packages/app", revision: "1.0.0" }, value, timeout: "5m" });
writeFileSync(join(dir, "fleet-app.yaml"), deployment("1"));

const port = 20000 + Math.floor(Math.random() * 20000);
const url = `https://127.0.0.1:${port}`;
const startWfm = async (n: number): Promise<Child> => {
  const child = new Child(`dev-wfm-${n}`, [process.execPath, CLI, "dev-wfm", "--profile", "rc3", "--dir", dir, "--listen", `127.0.0.1:${port}`, "--state", stateDir, "--log-level", "warn"], join(root, `wfm-${n}.log`));
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`${url}/.well-known/margo`, { tls: { rejectUnauthorized: false } }).then((r) => r.ok, () => false);
    if (up) return child;
    await Bun.sleep(100);
  }
  throw new Error("the dev WFM did not come up");
};
/** CPU seconds of a process so far, every thread (build/bench/procfs.ts). */
const cpuOf = (pid: number): number => cpuMs(pid) / 1000;
const selfCpu = () => cpuOf(process.pid);
const rss = () => rssBytes(process.pid);

let wfm = await startWfm(1);
const errors = new ErrorTally();
const base = fleetBaseConfig({ profile: "rc3", wfmUrl: url, workDir: root, intervalMs: INTERVAL, jitter: Number(values.jitter) });
const fleet = new Fleet({
  devices: DEVICES,
  base,
  workDir: join(root, "sim"),
  rampMs: INTERVAL,
  applyDelayMs: APPLY_DELAY,
  failureRate: 0,
  devWfmStateDir: stateDir,
  platform: bunPlatform,
  log: createLogger("warn", errors as unknown as NodeJS.WritableStream),
  errors,
  userAgent: "margo-agent-bench-fleet",
  say,
  rss,
  collectGarbage: () => Bun.gc(true),
});
const now = () => fleet.meter.secondsSinceStart();
const pollCount = () => [...fleet.meter.routes].filter(([r]) => r === "GET /api/v1/deployments").reduce((n, [, f]) => n + f.count, 0);

say(`${DEVICES} devices, poll ${INTERVAL / 1000} s ±${Number(values.jitter) * 100} %, ramp ${INTERVAL / 1000} s`);
const mintStart = performance.now();
await fleet.start();
say(`started in ${now().toFixed(0)} s, ${((performance.now() - mintStart) / 1000 - now()).toFixed(0)} s of minting SVIDs before that`);
// Settle: every device has installed the first desired state (its three reports are in), then one
// more interval, so the steady window sees devices that only poll, in their own rhythm.
const settleFrom = now();
while (fleet.summary("progress").reportsDelivered < 3 * DEVICES && now() - settleFrom < 900) await Bun.sleep(1000);
say(`installed everywhere ${now().toFixed(0)} s after the first start`);
await Bun.sleep(INTERVAL * 1.2);

say(`steady: ${STEADY / 1000} s`);
const s0 = { t: now(), polls: pollCount(), requests: fleet.meter.requests, wfmCpu: cpuOf(wfm.pid), selfCpu: selfCpu() };
await Bun.sleep(STEADY);
const s1 = { t: now(), polls: pollCount(), requests: fleet.meter.requests, wfmCpu: cpuOf(wfm.pid), selfCpu: selfCpu() };
const span = s1.t - s0.t;
const steady = {
  seconds: Math.round(span),
  pollsPerSecond: round((s1.polls - s0.polls) / span),
  requestsPerSecond: round((s1.requests - s0.requests) / span),
  devWfmCpuPercentOfOneCore: round((100 * (s1.wfmCpu - s0.wfmCpu)) / span),
  simulatorCpuPercentOfOneCore: round((100 * (s1.selfCpu - s0.selfCpu)) / span),
  simulatorRssMiB: round(rss() / 1048576),
  perDeviceKiB: fleet.summary("progress").memory.perDeviceKiB,
};
say(`steady: ${JSON.stringify(steady)}`);

// A new desired state, then the outage while the devices apply it: their reports wait in their journals.
writeFileSync(join(dir, "fleet-app.yaml"), deployment("2"));
await Bun.sleep(INTERVAL * 1.2 + 2000);
const outageFrom = now();
say(`outage: the dev WFM stops for ${OUTAGE / 1000} s`);
wfm.proc.kill("SIGKILL");
await wfm.proc.exited;
await Bun.sleep(OUTAGE);
wfm = await startWfm(2);
const outageTo = now();
say(`the dev WFM is back; recording ${AFTER / 1000} s`);
await Bun.sleep(AFTER);
const summary = fleet.summary("summary");
await fleet.stop();
wfm.proc.kill("SIGTERM");
await wfm.proc.exited;

const back = Math.floor(outageTo);
const window = (series: readonly number[], from: number, to: number) => series.slice(from, to);
const afterAnswered = window(fleet.meter.answeredPerSecond, back, back + Math.floor(AFTER / 1000));
const afterReports = window(fleet.meter.reportsPerSecond, back, back + Math.floor(AFTER / 1000));
const peakAnswered = Math.max(0, ...afterAnswered);
const result = {
  measuredAt: new Date().toISOString(),
  machine: { cpus: navigator.hardwareConcurrency },
  devices: DEVICES,
  intervalSeconds: INTERVAL / 1000,
  jitter: Number(values.jitter),
  steady,
  outage: {
    seconds: Math.round(outageTo - outageFrom),
    afterSeconds: AFTER / 1000,
    peakAnsweredPerSecond: peakAnswered,
    peakOverSteady: round(peakAnswered / steady.requestsPerSecond),
    firstSecondAnswered: afterAnswered[0] ?? 0,
    reportsDeliveredAfter: afterReports.reduce((a, b) => a + b, 0),
    /** Seconds after the return until 50 %, 90 % and 100 % of the reports that came after it had arrived. */
    reportsSpread: spread(afterReports),
  },
  summary,
};
mkdirSync(values.out!, { recursive: true });
writeFileSync(join(values.out!, "fleet-outage.json"), `${JSON.stringify({ ...result, answeredPerSecond: fleet.meter.answeredPerSecond, reportsPerSecond: fleet.meter.reportsPerSecond, outageFrom, outageTo }, null, 1)}\n`);
const svg = outageChart({
  title: `${DEVICES} simulated rc3 devices, poll ${INTERVAL / 1000} s ±${Number(values.jitter) * 100} %, after a ${describeSeconds(outageTo - outageFrom)} WFM outage`,
  answered: fleet.meter.answeredPerSecond,
  reports: fleet.meter.reportsPerSecond,
  outageFrom,
  outageTo,
  from: Math.max(0, Math.floor(outageFrom) - 60),
});
const svgFile = join(values.out!, "fleet-outage.svg");
writeFileSync(svgFile, svg);
const png = join(values.out!, "fleet-outage.png");
const chromium = Bun.which("chromium") ?? Bun.which("chromium-browser");
if (chromium) {
  const shot = Bun.spawnSync([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", `--screenshot=${png}`, "--window-size=1200,520", `file://${svgFile}`], { stdout: "ignore", stderr: "ignore" });
  say(shot.exitCode === 0 ? `wrote ${png}` : `chromium could not render the chart (exit ${shot.exitCode}); the SVG is at ${svgFile}`);
} else say(`no chromium: the chart is at ${svgFile}`);
console.log(JSON.stringify(result, null, 2));
rmSync(root, { recursive: true, force: true });
process.exit(0);

function spread(series: readonly number[]): { p50: number; p90: number; p100: number } {
  const total = series.reduce((a, b) => a + b, 0);
  const at = (f: number) => {
    let seen = 0;
    for (let i = 0; i < series.length; i++) if ((seen += series[i]!) >= f * total) return i;
    return series.length;
  };
  return { p50: at(0.5), p90: at(0.9), p100: at(1) };
}

function describeSeconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)}-minute` : `${Math.round(s)}-second`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
