/**
 * The demo (`npm run demo`): a development WFM serving examples/hello, and the
 * agent syncing from it on the container engine it finds (Podman, then
 * Docker), else on the clearly labelled simulated runtime. It speaks Margo
 * rc3: the dev WFM mints the device's X.509-SVID, every request is mutual TLS,
 * and the packages are OCI artifacts from the dev WFM's own endpoint. It shows the
 * deployment go pending → installing → installed, then deletes the YAML and
 * shows removing → removed. On a terminal it then keeps both running for you
 * to explore; otherwise it exits.
 *
 * Whatever way it ends (Ctrl-C included) it cleans up what it made: the
 * deployments are removed through the agent (containers and networks), the
 * children stopped, the temp folder deleted (kept only after a failure, for
 * its logs). The children run in their own process group, so a Ctrl-C at the
 * terminal reaches the demo alone and the agent is still there to remove them.
 * A second Ctrl-C skips the agent and removes the containers directly.
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { projectName } from "../runtimes/shared/naming.ts";
import { freePort } from "./free-port.ts";

const ROOT = resolve(import.meta.dir, "..");
const CLI = [process.execPath, join(ROOT, "src/cli.ts")];
const DEMO_IMAGE = "localhost/margo-demo/busybox:1";
const interactive = process.stdout.isTTY && process.env.CI !== "true";

const say = (text: string) => {
  try {
    console.log(`\x1b[1m==> ${text}\x1b[0m`);
  } catch {
    // no terminal any more (SIGHUP): the cleanup goes on without it
  }
};

function works(argv: string[]): boolean {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: "ignore", timeout: 15_000 });
  return r.status === 0;
}

/** The demo image, built from the static busybox (there is no registry to pull from). */
function ensureImage(engine: string): boolean {
  if (works([engine, "image", "inspect", DEMO_IMAGE])) return true;
  const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));
  if (!busybox) return false;
  const root = mkdtempSync(join(tmpdir(), "margo-demo-rootfs-"));
  mkdirSync(join(root, "bin"));
  cpSync(busybox, join(root, "bin/busybox"));
  for (const applet of ["sh", "sleep", "echo", "cat", "httpd", "printenv", "true", "wget"]) {
    spawnSync("ln", ["-s", "busybox", join(root, "bin", applet)]);
  }
  const tar = spawnSync("tar", ["-C", root, "-c", "."], { maxBuffer: 64 * 1024 * 1024 });
  const imported = spawnSync(engine, ["import", "-", DEMO_IMAGE], { input: tar.stdout, stdio: ["pipe", "ignore", "inherit"] });
  rmSync(root, { recursive: true, force: true });
  return imported.status === 0;
}

function chooseRuntime(): { runtime: string; note: string } {
  const chosen = process.env.MARGO_DEMO_RUNTIME;
  if (chosen) {
    // The demo's image is made locally (no registry): the chosen engine needs it too.
    if (chosen === "podman" || chosen === "compose") ensureImage(chosen === "podman" ? "podman" : "docker");
    return { runtime: chosen, note: "from MARGO_DEMO_RUNTIME" };
  }
  const compose = works(["docker-compose", "version"]) || works(["docker", "compose", "version"]);
  if (compose && works(["podman", "info"]) && ensureImage("podman")) return { runtime: "podman", note: "Podman found" };
  if (compose && works(["docker", "info"]) && ensureImage("docker")) return { runtime: "compose", note: "Docker Engine found" };
  return { runtime: "simulated", note: "no container engine with a compose tool found: SIMULATED runtime (no containers run, every state and report as on a real device)" };
}

/** The dev WFM's trust anchor, to talk to it over TLS as the agent does. */
let wfmCa = "";

async function reports(wfm: string): Promise<{ deploymentId: string; body: { status: { state: string } } }[]> {
  try {
    return (await (await fetch(`${wfm}/api/dev/reports`, { tls: { ca: wfmCa } } as RequestInit)).json()) as never;
  } catch {
    return [];
  }
}

async function waitForState(wfm: string, state: string, seen: Set<string>, timeoutMs = 120_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const r of await reports(wfm)) {
      const key = `${r.deploymentId}:${r.body.status.state}`;
      if (!seen.has(key)) {
        seen.add(key);
        console.log(`    WFM received: deployment ${r.deploymentId.slice(0, 8)}… is ${r.body.status.state}`);
      }
    }
    if ([...seen].some((k) => k.endsWith(`:${state}`))) return true;
    await Bun.sleep(300);
  }
  return false;
}

const work = mkdtempSync(join(tmpdir(), "margo-demo-"));
const appDir = join(work, "wfm");
cpSync(join(ROOT, "examples/hello"), appDir, { recursive: true });
const { runtime, note } = chooseRuntime();
const wfmPort = await freePort();
const apiPort = await freePort();
const wfm = `https://127.0.0.1:${wfmPort}`;
const children: ReturnType<typeof spawn>[] = [];
const seen = new Set<string>();
const logFile = (name: string) => Bun.file(join(work, `${name}.log`)).writer();

function start(name: string, args: string[]) {
  const out = logFile(name);
  // detached: its own process group, so the terminal's Ctrl-C does not stop it before it cleaned up.
  const child = spawn(CLI[0]!, [...CLI.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  child.stdout!.on("data", (d) => out.write(d));
  child.stderr!.on("data", (d) => out.write(d));
  children.push(child);
  return child;
}

/** The ids of the example's deployments, read from its YAMLs. */
const exampleIds = readdirSync(join(ROOT, "examples/hello"))
  .filter((f) => /\.ya?ml$/.test(f))
  .flatMap((f) => [...readFileSync(join(ROOT, "examples/hello", f), "utf8").matchAll(/^\s+id:\s*(\S+)/gm)].map((m) => m[1]!));

async function exitOf(child: ReturnType<typeof spawn>, limitMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return Promise.race([new Promise<boolean>((r) => child.once("exit", () => r(true))), Bun.sleep(limitMs).then(() => false)]);
}

const engineCli = runtime === "podman" ? "podman" : runtime === "compose" ? "docker" : undefined;

/** Containers and networks of this demo's agent still on the engine (found by its data directory and project names). */
function sweepEngine(): void {
  if (!engineCli) return;
  for (const id of exampleIds) {
    // Ours: the compose project's working directory is a package under this demo's data directory.
    const ps = spawnSync(engineCli, ["ps", "-aq", "--filter", `label=org.margo.deployment-id=${id}`], { encoding: "utf8" });
    const ids = (ps.stdout ?? "").split("\n").filter(Boolean).filter((c) => {
      const wd = spawnSync(engineCli, ["inspect", "--format", '{{index .Config.Labels "com.docker.compose.project.working_dir"}}', c], { encoding: "utf8" });
      return (wd.stdout ?? "").trim().startsWith(`${work}/`);
    });
    if (ids.length) spawnSync(engineCli, ["rm", "-f", ...ids], { stdio: "ignore" });
    for (const component of ["web", "worker"]) {
      const project = projectName(id, component);
      const left = spawnSync(engineCli, ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`], { encoding: "utf8" });
      if ((left.stdout ?? "").trim()) continue; // another agent's, not ours to remove
      const nets = spawnSync(engineCli, ["network", "ls", "-q", "--filter", `label=com.docker.compose.project=${project}`], { encoding: "utf8" });
      const netIds = (nets.stdout ?? "").split("\n").filter(Boolean);
      if (netIds.length) spawnSync(engineCli, ["network", "rm", ...netIds], { stdio: "ignore" });
    }
  }
}

let shuttingDown: Promise<never> | undefined;
let force = false;

/**
 * Removes what the demo made, then exits: the deployments through the agent
 * (unless `force`), the children, then anything the agent left, the temp folder.
 */
function shutdown(code: number, why?: string): Promise<never> {
  shuttingDown ??= (async () => {
    if (why) say(why);
    const agent = children[1];
    if (!force && agent && agent.exitCode === null && engineCli) {
      for (const f of readdirSync(appDir)) if (/\.ya?ml$/.test(f)) rmSync(join(appDir, f));
      // Done when the last report of every deployment the WFM heard of says removed.
      const gone = async () => {
        const last = new Map<string, string>();
        for (const r of await reports(wfm)) last.set(r.deploymentId, r.body.status.state);
        return [...last.values()].every((state) => state === "removed");
      };
      if (!(await gone())) {
        say("removing the example's containers through the agent… (Ctrl-C again to skip)");
        const deadline = Date.now() + 60_000;
        while (!force && Date.now() < deadline && !(await gone())) await Bun.sleep(300);
      }
    }
    for (const c of children) c.kill("SIGTERM");
    for (const c of children) if (!(await exitOf(c, 20_000))) c.kill("SIGKILL");
    sweepEngine();
    if (code === 0) rmSync(work, { recursive: true, force: true });
    else console.error(`logs kept in ${work}`);
    say(code === 0 ? "cleaned up: containers, networks and the temp folder are gone" : "cleaned up the containers");
    process.exit(code);
  })();
  return shuttingDown;
}
process.on("SIGINT", () => {
  if (shuttingDown) force = true;
  void shutdown(0, "Ctrl-C: cleaning up");
});
process.on("SIGTERM", () => void shutdown(0, "stopping: cleaning up"));
// The terminal went away (window closed, ssh dropped): clean up all the same.
process.on("SIGHUP", () => void shutdown(0));

say(`runtime: ${runtime} (${note})`);
// rc3: the dev WFM's CA (made in its state dir) mints this device's SVID; the agent verifies the WFM with its bundle.
const wfmState = join(work, "wfm-state");
const svidDir = join(work, "svid");
const minted = spawnSync(CLI[0]!, [...CLI.slice(1), "dev-wfm", "issue-svid", "--client", "demo-device", "--out", svidDir, "--state", wfmState], { encoding: "utf8" });
if (minted.status !== 0) {
  console.error(`could not mint the device's SVID: ${minted.stderr}`);
  process.exit(1);
}
say(`device identity: an X.509-SVID minted by the dev WFM's CA (${svidDir})`);
wfmCa = readFileSync(join(svidDir, "bundle.pem"), "utf8");
start("dev-wfm", ["dev-wfm", "--profile", "rc3", "--state", wfmState, "--dir", appDir, "--listen", `127.0.0.1:${wfmPort}`]);
writeFileSync(
  join(work, "agent.yaml"),
  [
    "wfm:",
    "  profile: rc3",
    `  url: ${wfm}`,
    `  caFile: ${join(svidDir, "bundle.pem")}`,
    `identity: {certFile: ${join(svidDir, "svid.pem")}, keyFile: ${join(svidDir, "svid-key.pem")}}`,
    `dataDir: ${join(work, "agent-data")}`,
    `runtime: ${runtime}`,
    "poll: {interval: 2s}",
    "packages: {reserve: 64MiB}",
    // The packages come from the dev WFM's own OCI endpoint, over TLS with the same CA.
    `registries: {caFiles: {"127.0.0.1:${wfmPort}": ${join(svidDir, "bundle.pem")}}}`,
    `api: {listen: "127.0.0.1:${apiPort}"}`,
    "reconcile: {driftInterval: 10s}",
    "",
  ].join("\n"),
);
for (let i = 0; i < 50 && !(await fetch(wfm, { tls: { ca: wfmCa } } as RequestInit).then(() => true, () => false)); i++) await Bun.sleep(100);
say(`development WFM: ${wfm}/  (open it in a browser to watch)`);
start("agent", ["run", "--config", join(work, "agent.yaml"), ...(runtime === "simulated" ? ["--simulated-delay", "700"] : [])]);
say(`agent started; logs in ${work}/agent.log`);

say("waiting for the example deployment to be installed…");
if (!(await waitForState(wfm, "installed", seen))) {
  console.error(`the deployment did not reach installed; see ${work}/agent.log`);
  await shutdown(1);
}
say("margo-agent status:");
spawnSync(CLI[0]!, [...CLI.slice(1), "status", "--config", join(work, "agent.yaml")], { stdio: "inherit" });

say("deleting the deployment's YAML from the WFM's folder…");
for (const f of readdirSync(appDir)) if (/\.ya?ml$/.test(f)) rmSync(join(appDir, f));
if (!(await waitForState(wfm, "removed", seen))) {
  console.error(`the deployment was not removed; see ${work}/agent.log`);
  await shutdown(1);
}
say("removed. The demo passed.");
if (interactive) {
  cpSync(join(ROOT, "examples/hello"), appDir, { recursive: true });
  say(`The example is back in ${appDir}; edit or delete YAMLs there and watch ${wfm}/ . Ctrl-C stops.`);
  await new Promise(() => {});
}
await shutdown(0);
