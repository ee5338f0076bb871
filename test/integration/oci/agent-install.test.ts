/**
 * Issue 13: the agent installs a component named by repository + revision from
 * a real registry (Debian's docker-registry over TLS, htpasswd auth, credentials
 * from a docker-style auth file), through the real resolver and the simulated
 * runtime; shows the pull's progress; re-installs from its cache with the
 * registry down; and refuses an auth file others can read.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PullProgress } from "../../../src/agent/pull-progress.ts";
import { packageResolver } from "../../../src/bootstrap/resolve-components.ts";
import { configFileProblems } from "../../../src/config/files.ts";
import { loadConfig } from "../../../src/config/load.ts";
import type { Deployment } from "../../../src/model/deployment.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import type { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { drained, makeAgent } from "../../support/agent-harness.ts";
import { publishManifest, startFakeWfm, type FakeWfm } from "../../support/fake-wfm.ts";
import { type Pki, type RunningRegistry, describeWithRegistry, makePki, startRegistry } from "../../support/registry.ts";
import { accessFor, cleanup, pushApp, transportFor, workDir } from "./fixture.ts";
import { applicationDeploymentYaml } from "../../support/deployment-yaml.ts";

const COMPOSE = 'services:\n  web:\n    image: localhost/margo-test/busybox:1\n    environment: {VALUE: "${VALUE}"}\n';
const USERS = { device: "s3cret-pass" };

describeWithRegistry("the agent installs OCI packages from a real registry", () => {
  let pki: Pki;
  let reg: RunningRegistry;
  let wfm: FakeWfm;
  let authFile: string;

  beforeAll(async () => {
    pki = await makePki();
    reg = await startRegistry(pki, { kind: "htpasswd", users: USERS });
    wfm = startFakeWfm();
    const dir = await workDir("auth");
    authFile = join(dir, "registries.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`device:${USERS.device}`).toString("base64") } } }));
    chmodSync(authFile, 0o600);
    const push = transportFor(accessFor(pki, [reg.host], { credentials: (host) => (host === reg.host ? { username: "device", password: USERS.device } : undefined) }));
    await pushApp(push, reg.host, "org/web", "1.0.0", { "compose.yaml": COMPOSE });
  });
  afterAll(async () => {
    wfm.stop();
    await cleanup();
  });

  const sets = () => [`registries.authFile=${authFile}`, `registries.caFiles={"${reg.host}": "${pki.caFile}"}`];

  function deployment(id: string, revision = "1.0.0") {
    return applicationDeploymentYaml({ id, name: `app-${id}`, applicationId: "web", component: "web", package: { repository: `oci://${reg.host}/org/web`, revision }, value: "hello" });
  }

  test("installed from the registry with the auth file's credentials; then, registry down and the device wiped of its containers, re-installed from the cache", async () => {
    const h = makeAgent({ wfmUrl: wfm.url, sets: sets() });
    publishManifest(wfm, 1, { "dep-oci": deployment("dep-oci") });
    const r = await h.agent.sync.poll(new AbortController().signal);
    expect(r.outcome).toBe("applied");
    const row = h.agent.store.getDeployment("dep-oci");
    expect([row?.state, row?.error?.code, row?.error?.message]).toEqual(["installed", undefined, undefined]);
    const sim = h.runtime as SimulatedRuntime;
    expect(sim.container("dep-oci", "web")?.env).toEqual({ VALUE: "hello" });
    await drained(h.agent);
    // No credential anywhere the agent writes for people.
    expect(JSON.stringify(h.logs())).not.toContain(USERS.device);

    await reg.stop();
    sim.removeBehindAgentsBack("dep-oci", "web");
    const outcomes = await h.agent.sync.reconcileStored("drift", new AbortController().signal, true);
    expect(outcomes.map((o) => [o.step.action, o.state])).toEqual([["repair", "installed"]]);
    expect(sim.container("dep-oci", "web")).toBeDefined();
    await h.agent.stop();
    await reg.start();
  }, 60_000);

  test("a revision that does not exist fails the deployment with ARTIFACT_NOT_FOUND; other deployments are unaffected", async () => {
    const h = makeAgent({ wfmUrl: wfm.url, sets: sets() });
    publishManifest(wfm, 1, { "dep-good": deployment("dep-good"), "dep-ghost": deployment("dep-ghost", "9.9.9") });
    expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("applied");
    const states = Object.fromEntries(h.agent.store.listDeployments().map((d) => [d.id, [d.state, d.error?.code]]));
    expect(states).toEqual({ "dep-ghost": ["failed", "ARTIFACT_NOT_FOUND"], "dep-good": ["installed", undefined] });
    await h.agent.stop();
  }, 60_000);

  test("the resolver reports the pull's progress, bytes of total, and clears it when done", async () => {
    const config = loadConfig({ env: {}, sets: ["wfm.url=https://wfm.example", `dataDir=${await workDir("data")}`, "packages.reserve=1MiB", ...sets()] });
    const pulls = new PullProgress();
    const seen: { bytes: number; total: number }[] = [];
    const update = pulls.update.bind(pulls);
    pulls.update = (d, c, ref, bytes, total) => {
      seen.push({ bytes, total });
      update(d, c, ref, bytes, total);
    };
    const resolve = packageResolver(config, bunPlatform, { pulls, engineStorage: [] });
    const dep: Deployment = { id: "dep-p", name: "p", profileType: "compose", env: {}, components: [{ name: "web", repository: `oci://${reg.host}/org/web`, revision: "1.0.0", timeoutMs: 1000, wait: false }] };
    const resolved = await resolve(dep, dep.components[0]!, new AbortController().signal);
    expect(await Bun.file(resolved.composeFile).text()).toBe(COMPOSE);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)!.bytes).toBe(seen.at(-1)!.total);
    expect(pulls.snapshot()).toEqual([]);
  }, 30_000);

  test("config check refuses an auth file others can read, naming the key", async () => {
    const loose = join(await workDir("loose"), "auth.json");
    writeFileSync(loose, "{}");
    chmodSync(loose, 0o644);
    const config = loadConfig({ env: {}, sets: ["wfm.profile=v1", "wfm.url=https://wfm.example", `dataDir=${await workDir("data2")}`, `registries.authFile=${loose}`] });
    const problems = configFileProblems(config);
    expect(problems.map((p) => [p.code, p.key])).toEqual([["CONFIG_INVALID", "registries.authFile"]]);
    expect(problems[0]!.message).toContain("chmod 600");
  });
});
