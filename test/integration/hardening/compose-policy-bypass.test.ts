/**
 * Issue 10, item 2: ways past the compose policy, each tried for real. Every
 * attempt is a package the real compose tool (docker-compose v1) would run
 * with more than the device allows; each must fail with COMPOSE_POLICY_DENIED
 * and leave nothing on the engine, on Docker and on Podman (through its
 * Docker-compatible socket, as the adapter drives it). The six found in the
 * issue also go through the whole agent, from a hostile WFM.
 *
 * Invariants held here (docs/architecture.md): INV-HOST-1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectName } from "../../../runtimes/shared/naming.ts";
import type { ResolvedComponent, RuntimeAdapter } from "../../../runtimes/types.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import type { ComposePolicy } from "../../../src/packages/compose-policy.ts";
import { type Harness, makeAgent } from "../../support/agent-harness.ts";
import { describeWithEngine, type EngineName, engineStatus } from "../../support/engines.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { containersOf, engineRuntime, removeByPrefix, serveDeployments, tarPackage } from "./compose-support.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

const SLOW = 180_000;
const RUN = `hb${process.pid}`;
const IMAGE = `image: ${TEST_IMAGE}\n    pull_policy: never\n    command: ["sleep", "3600"]\n    stop_signal: SIGKILL`;
/** A block device this machine has (loop devices exist on any Linux with loop support). */
const BLOCK = `/dev/${readdirSync("/sys/block").find((d) => d.startsWith("loop")) ?? readdirSync("/sys/block")[0]}`;

const work = mkdtempSync(join(tmpdir(), "hard-bypass-"));
const allowed = join(work, "allowed");
mkdirSync(allowed);
// A symlink inside an allowed bind path that leads out of it (a workload with the path mounted could make one).
symlinkSync("/", join(allowed, "escape"));
// A stable-looking name for a raw disk, like /dev/disk/by-id/… (that directory does not exist on every machine).
mkdirSync(join(work, "by-id"));
symlinkSync(BLOCK, join(work, "by-id", "ata-DISK_0001"));

const policy: ComposePolicy = { allowPrivileged: false, allowHostNamespaces: false, allowedBindPaths: [allowed] };

interface Attempt {
  what: string;
  files: Record<string, string>;
  params?: Record<string, string>;
  /** Named in the error: the rule that caught it. */
  mention: string;
}

const svc = (body: string, extra = "") => `services:\n  web:\n    ${IMAGE}\n${body.replace(/^/gm, "    ")}\n${extra}`;

const ATTEMPTS: Attempt[] = [
  // The six of the issue.
  { what: "YAML merge keys", files: { "compose.yaml": `x-base: &base\n  privileged: true\nservices:\n  web:\n    <<: *base\n    ${IMAGE}\n` }, mention: "services.web.privileged" },
  { what: "extends from another file of the package", files: { "compose.yaml": `services:\n  web:\n    extends: {file: ./base.yaml, service: base}\n    ${IMAGE}\n`, "base.yaml": "services:\n  base:\n    privileged: true\n" }, mention: "services.web.privileged" },
  { what: 'a package .env with "PRIV=true # comment"', files: { "compose.yaml": svc('privileged: "${PRIV}"'), ".env": "PRIV=true # comment\n" }, mention: "services.web.privileged" },
  { what: "a parameter value with quotes, # and a newline (text interpolation would hide privileged)", files: { "compose.yaml": `services:\n  web: {${IMAGE.replaceAll("\n    ", ", ")}, environment: {N: "\${N}"}, privileged: true}\n` }, params: { N: 'x"}} #\n' }, mention: "services.web.privileged" },
  { what: "a top-level secret from /etc/shadow", files: { "compose.yaml": svc("secrets: [s]", "secrets:\n  s: {file: /etc/shadow}\n") }, mention: "secrets.s.file: host path /etc/shadow" },
  { what: "a raw disk through a by-id symlink", files: { "compose.yaml": svc(`devices: ["${join(work, "by-id", "ata-DISK_0001")}:/dev/xdisk"]`) }, mention: `(${BLOCK} after following symlinks)` },
  // Every other rule, and the other ways around them found while fixing these.
  { what: "a host file bound through a merge key", files: { "compose.yaml": `x-base: &base\n  volumes: ["/etc/hostname:/h:ro"]\nservices:\n  web:\n    <<: *base\n    ${IMAGE}\n` }, mention: "host path /etc/hostname" },
  { what: "privileged", files: { "compose.yaml": svc("privileged: true") }, mention: "services.web.privileged" },
  { what: 'privileged "y" from a parameter (compose reads y as true)', files: { "compose.yaml": svc('privileged: "${P}"') }, params: { P: "y" }, mention: "services.web.privileged" },
  { what: "a dangerous capability", files: { "compose.yaml": svc("cap_add: [SYS_ADMIN]") }, mention: "capability SYS_ADMIN" },
  { what: "a capability from a parameter", files: { "compose.yaml": svc('cap_add: ["${CAP}"]') }, params: { CAP: "SYS_MODULE" }, mention: "capability SYS_MODULE" },
  { what: "seccomp unconfined", files: { "compose.yaml": svc("security_opt: [seccomp:unconfined]") }, mention: "seccomp:unconfined" },
  { what: "device cgroup rules", files: { "compose.yaml": svc('device_cgroup_rules: ["b *:* rwm"]') }, mention: "device cgroup rules" },
  { what: "a host cgroup parent", files: { "compose.yaml": svc("cgroup_parent: /") }, mention: "services.web.cgroup_parent" },
  { what: "host network", files: { "compose.yaml": svc("network_mode: host") }, mention: "network_mode: host" },
  { what: "host network from a parameter", files: { "compose.yaml": svc('network_mode: "${NET}"') }, params: { NET: "host" }, mention: "network_mode: host" },
  { what: "the host network through a top-level network", files: { "compose.yaml": svc("networks: [hn]", "networks:\n  hn: {name: host, external: true}\n") }, mention: "networks.hn" },
  { what: "another container's network", files: { "compose.yaml": svc('network_mode: "container:some-other"') }, mention: "container:some-other" },
  { what: "host pid", files: { "compose.yaml": svc("pid: host") }, mention: "pid: host" },
  { what: "host ipc", files: { "compose.yaml": svc("ipc: host") }, mention: "ipc: host" },
  { what: "host user namespace", files: { "compose.yaml": svc("userns_mode: host") }, mention: "userns_mode: host" },
  { what: "another container's volumes", files: { "compose.yaml": svc('volumes_from: ["container:some-other"]') }, mention: "container:some-other" },
  { what: "a bind mount of /", files: { "compose.yaml": svc('volumes: ["/:/host"]') }, mention: "host path / is not allowed" },
  { what: "a bind mount of a host path from a parameter", files: { "compose.yaml": svc('volumes: ["${SRC}:/host"]') }, params: { SRC: "/etc" }, mention: "host path /etc" },
  { what: "a bind mount, long syntax", files: { "compose.yaml": svc("volumes: [{type: bind, source: /etc, target: /e}]") }, mention: "host path /etc" },
  { what: "a relative path out of the package", files: { "compose.yaml": svc('volumes: ["../../../../../../etc:/e"]') }, mention: "host path /etc" },
  { what: "a symlink in an allowed path leading out of it", files: { "compose.yaml": svc(`volumes: ["${join(allowed, "escape")}/etc:/e"]`) }, mention: "(/etc after following symlinks)" },
  { what: "the engine socket", files: { "compose.yaml": svc('volumes: ["/var/run/docker.sock:/s"]') }, mention: "/var/run/docker.sock" },
  { what: "a named volume that is a bind in disguise", files: { "compose.yaml": svc("volumes: [v:/v]", "volumes:\n  v: {driver_opts: {type: none, o: bind, device: /root}}\n") }, mention: "volumes.v.driver_opts.device" },
  { what: "a config from a host file", files: { "compose.yaml": svc("configs: [c]", "configs:\n  c: {file: /etc/hostname}\n") }, mention: "configs.c.file" },
  { what: "a raw block device", files: { "compose.yaml": svc(`devices: ["${BLOCK}:/dev/xdisk"]`) }, mention: BLOCK },
  { what: "all of /dev", files: { "compose.yaml": svc('devices: ["/dev:/dev"]') }, mention: "holds /dev/" },
  { what: "memory", files: { "compose.yaml": svc('devices: ["/dev/mem:/dev/mem"]') }, mention: "/dev/mem" },
  { what: "an env_file of the host (read into the container's environment)", files: { "compose.yaml": svc("env_file: /etc/hostname") }, mention: "env_file" },
  { what: "extends from a host file", files: { "compose.yaml": `services:\n  web:\n    extends: {file: /etc/hosts, service: x}\n    ${IMAGE}\n` }, mention: "extends.file" },
  { what: "a build from the host's root", files: { "compose.yaml": svc("build: {context: /}") }, mention: "build.context" },
  { what: "a package .env redirecting the tool to another engine", files: { "compose.yaml": svc(""), ".env": "DOCKER_HOST=tcp://127.0.0.1:1\n" }, mention: "DOCKER_HOST" },
];

const refusal = (p: Promise<unknown>) => agentErrorOf(p);

for (const engine of ["docker", "podman"] as EngineName[]) {
  const status = await engineStatus(engine);
  describeWithEngine(status, `compose policy bypass attempts (${engine}, docker-compose v1)`, () => {
    let adapter: RuntimeAdapter & { close?(): Promise<void> };
    const ids: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), `hard-bypass-${engine}-`));

    beforeAll(async () => {
      await ensureTestImage(engine);
      adapter = engineRuntime(engine);
    }, SLOW);
    afterAll(async () => {
      await removeByPrefix(engine, ids);
      await adapter?.close?.();
      rmSync(dir, { recursive: true, force: true });
    }, SLOW);

    const apply = (i: number, a: Pick<Attempt, "files" | "params">, p: ComposePolicy = policy) => {
      const id = `${RUN}-${engine}-${i}`;
      ids.push(id);
      const pkg = join(dir, `pkg-${i}`);
      mkdirSync(pkg, { recursive: true });
      for (const [name, text] of Object.entries(a.files)) writeFileSync(join(pkg, name), text);
      const component: ResolvedComponent = { name: "web", composeFile: join(pkg, "compose.yaml"), packageDigest: `sha256:${"c".repeat(64)}`, env: a.params ?? {}, policy: p, wait: true, timeoutMs: 30_000 };
      const deployment = { deploymentId: id, name: "bypass", digest: `sha256:${"d".repeat(64)}` };
      return { id, run: () => adapter.applyComponent(deployment, component, { signal: new AbortController().signal, workDir: join(dir, `work-${i}`) }) };
    };

    ATTEMPTS.forEach((a, i) => {
      test(`refuses ${a.what}: COMPOSE_POLICY_DENIED, nothing started`, async () => {
        const { id, run } = apply(i, a);
        const err = await refusal(run());
        expect(`${err.code}: ${err.message}`).toStartWith("COMPOSE_POLICY_DENIED");
        expect(err.message).toContain(a.mention);
        expect(await containersOf(engine, id)).toEqual([]);
        const nets = await bunPlatform.run([cliOf(engine), "network", "ls", "-q", "--filter", `label=com.docker.compose.project=${projectName(id, "web")}`]);
        expect(nets.stdout.trim()).toBe("");
      }, SLOW);
    });

    test("control: what a merge key asks for is what compose runs, once the policy allows it", async () => {
      const attempt = ATTEMPTS.find((a) => a.what === "a host file bound through a merge key")!;
      const { id, run } = apply(1000, attempt, { ...policy, allowedBindPaths: ["/etc/hostname"] });
      await run();
      const [cid] = await containersOf(engine, id);
      const seen = await bunPlatform.run([cliOf(engine), "exec", cid!, "cat", "/h"], { timeoutMs: 30_000 });
      expect(seen.stdout).toBe(await Bun.file("/etc/hostname").text());
    }, SLOW);
  });
}

// The six of the issue once more, through the whole agent: a hostile WFM serves them, nothing reaches `installed`.
const SIX = ATTEMPTS.slice(0, 6);

for (const engine of ["docker", "podman"] as EngineName[]) {
  const status = await engineStatus(engine);
  describeWithEngine(status, `the issue's six policy bypasses from a hostile WFM (${engine})`, () => {
    const wfm = startFakeWfm();
    const dataDir = mkdtempSync(join(tmpdir(), "hard-bypass-agent-"));
    const ids = SIX.map((_, i) => `${RUN}-agent-${engine}-${i}`);
    let h: Harness;

    beforeAll(async () => {
      await ensureTestImage(engine);
      SIX.forEach((a, i) => wfm.set(`/pkg/${i}.tar.gz`, tarPackage(a.files, dataDir).bytes));
      h = makeAgent({ wfmUrl: wfm.url, dataDir, runtime: engineRuntime(engine), sets: [`policy.allowedBindPaths=["${allowed}"]`] });
    }, SLOW);
    afterAll(async () => {
      await h?.agent.stop();
      await (h?.runtime as { close?: () => Promise<void> })?.close?.();
      await removeByPrefix(engine, ids);
      wfm.stop();
    }, SLOW);

    test("each fails with COMPOSE_POLICY_DENIED, is reported so, and starts nothing", async () => {
      serveDeployments(wfm, SIX.map((a, i) => ({ id: ids[i]!, packagePath: `/pkg/${i}.tar.gz`, parameters: a.params })));
      expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("applied");
      for (const [i, a] of SIX.entries()) {
        const d = h.agent.store.getDeployment(ids[i]!);
        expect({ what: a.what, state: d?.state, code: d?.error?.code }).toEqual({ what: a.what, state: "failed", code: "COMPOSE_POLICY_DENIED" });
        expect(d?.error?.message).toContain(a.mention);
        expect(await containersOf(engine, ids[i]!)).toEqual([]);
      }
    }, SLOW);
  });
}

describe("bypass table", () => {
  test("covers every rule of the policy", () => {
    const rules = ["privileged", "capability", "security_opt|seccomp", "device cgroup", "cgroup_parent", "network_mode", "pid", "ipc", "userns_mode", "volumes_from|container:", "host path", "devices|/dev", "secrets", "configs", "env_file", "extends", "build", "networks."];
    for (const r of rules) expect(ATTEMPTS.some((a) => new RegExp(r).test(`${a.mention} ${JSON.stringify(a.files)}`))).toBe(true);
  });
});
