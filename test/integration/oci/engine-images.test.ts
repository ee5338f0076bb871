/**
 * Issue 13 item 3, on real engines: a deployment whose compose archive AND whose
 * service image both come from a real registry (Debian's docker-registry over
 * TLS with htpasswd auth). The image is the local busybox test image pushed
 * with `docker push` / `podman push`, then removed locally, so the engine must
 * pull it with the credentials the agent hands it as a file (DOCKER_CONFIG,
 * written from registries.authFile). The images live on a registry of their own
 * (other users), so the engine's pull is what the cases below judge: without its
 * credentials REGISTRY_UNAUTHORIZED, with that registry down REGISTRY_UNREACHABLE,
 * an image it does not have IMAGE_NOT_FOUND.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chooseRuntime } from "../../../src/bootstrap/choose-runtime.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { makeAgent } from "../../support/agent-harness.ts";
import { describeWithEngine, engineStatus, type EngineName } from "../../support/engines.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { publishManifest, startFakeWfm, type FakeWfm } from "../../support/fake-wfm.ts";
import { type Pki, type RunningRegistry, describeWithRegistry, makePki, startRegistry } from "../../support/registry.ts";
import { accessFor, cleanup, pushApp, transportFor, workDir } from "./fixture.ts";

const USERS = { device: "engine-s3cret" };
const IMAGE_USERS = { puller: "image-s3cret" };
const ENGINES = [["docker", await engineStatus("docker")], ["podman", await engineStatus("podman")]] as const;

describeWithRegistry("engine image pulls from a real registry with the agent's credentials", () => {
  let pki: Pki;
  let reg: RunningRegistry;
  let images: RunningRegistry;
  let wfm: FakeWfm;
  let authFile: string;
  let archivesOnly: string;
  const trusted: string[] = [];

  beforeAll(async () => {
    pki = await makePki();
    reg = await startRegistry(pki, { kind: "htpasswd", users: USERS });
    images = await startRegistry(pki, { kind: "htpasswd", users: IMAGE_USERS });
    wfm = startFakeWfm();
    const auth = (user: string, pass: string) => ({ auth: Buffer.from(`${user}:${pass}`).toString("base64") });
    authFile = join(await workDir("auth"), "registries.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: auth("device", USERS.device), [images.host]: auth("puller", IMAGE_USERS.puller) } }));
    chmodSync(authFile, 0o600);
    archivesOnly = join(await workDir("auth-archives"), "registries.json");
    writeFileSync(archivesOnly, JSON.stringify({ auths: { [reg.host]: auth("device", USERS.device) } }));
    chmodSync(archivesOnly, 0o600);
    // The engines verify the registries' TLS like any client: their CA, where each engine looks for one.
    for (const host of [reg.host, images.host]) {
      for (const dir of [`/etc/docker/certs.d/${host}`, `/etc/containers/certs.d/${host}`]) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, "ca.crt"), pki.caPem);
        trusted.push(dir);
      }
    }
  });
  afterAll(async () => {
    wfm.stop();
    for (const dir of trusted) rmSync(dir, { recursive: true, force: true });
    await cleanup();
  });


  const deploymentYaml = (id: string, repo: string) => `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: ${id}, applicationId: web}
  name: app-${id}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: web
        properties: {repository: "oci://${reg.host}/${repo}", revision: "1.0.0", wait: true, timeout: 60s}
`;

  /** Pushes the local test image to the registry under `name` and removes the pushed tag locally. */
  async function pushImage(engine: EngineName, name: string): Promise<string> {
    await ensureTestImage(engine);
    const remote = `${images.host}/${name}`;
    const cli = cliOf(engine);
    const dockerConfig = await workDir(`push-${engine}`);
    writeFileSync(join(dockerConfig, "config.json"), JSON.stringify({ auths: { [images.host]: { auth: Buffer.from(`puller:${IMAGE_USERS.puller}`).toString("base64") } } }));
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig, REGISTRY_AUTH_FILE: join(dockerConfig, "config.json") };
    const run = async (argv: string[]) => {
      const r = await bunPlatform.run(argv, { env: env as Record<string, string>, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    };
    await run([cli, "tag", TEST_IMAGE, remote]);
    await run([cli, "push", remote]);
    await run([cli, "rmi", remote]);
    return remote;
  }

  for (const [engine, status] of ENGINES) {
    describeWithEngine(status, `on ${engine}`, () => {
      async function install(auth: string, id: string, given?: string) {
        const image = given ?? (await pushImage(engine, `margo-test/busybox-${engine}:1`));
        const push = transportFor(accessFor(pki, [reg.host], { credentials: () => ({ username: "device", password: USERS.device }) }));
        const repo = `org/${engine}-${id}`;
        await pushApp(push, reg.host, repo, "1.0.0", { "compose.yaml": `services:\n  web:\n    image: ${image}\n    command: ["sleep", "3600"]\n` });
        const sets = [`runtime=${engine === "docker" ? "compose" : "podman"}`, `registries.caFiles={"${reg.host}": "${pki.caFile}", "${images.host}": "${pki.caFile}"}`, `registries.authFile=${auth}`];
        const dataDir = await workDir(`data-${engine}-${id}`);
        // The runtime the agent's bootstrap builds: with an auth file, the engine gets its credentials file.
        const config = loadConfig({ env: {}, sets: ["wfm.url=https://wfm.example", `dataDir=${dataDir}`, "packages.reserve=1MiB", ...sets] });
        const runtime = await chooseRuntime(config, bunPlatform);
        const h = makeAgent({ wfmUrl: wfm.url, dataDir, runtime, sets });
        publishManifest(wfm, 1, { [id]: deploymentYaml(id, repo) });
        expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("applied");
        const row = h.agent.store.getDeployment(id);
        const state = [row?.state, row?.error?.code];
        publishManifest(wfm, 2, {});
        await h.agent.sync.poll(new AbortController().signal);
        await h.agent.stop();
        return { state, message: row?.error?.message ?? "" };
      }

      test("the archive and the image both come from the registry, pulled with the auth file's credentials", async () => {
        const r = await install(authFile, "with-creds");
        expect(r).toEqual({ state: ["installed", undefined], message: "" });
      }, 180_000);

      test("without the image registry's credentials the engine's pull fails with REGISTRY_UNAUTHORIZED, leaking nothing", async () => {
        const r = await install(archivesOnly, "no-creds");
        expect(r.state).toEqual(["failed", "REGISTRY_UNAUTHORIZED"]);
        expect(r.message).not.toContain(USERS.device);
        expect(r.message).not.toContain(IMAGE_USERS.puller);
      }, 180_000);

      test("an image the registry does not have: IMAGE_NOT_FOUND", async () => {
        const pushed = await pushImage(engine, `margo-test/busybox-${engine}:1`);
        const r = await install(authFile, "absent", pushed.replace(/:1$/, ":404"));
        expect(r.state).toEqual(["failed", "IMAGE_NOT_FOUND"]);
      }, 180_000);

      test("the image registry down: REGISTRY_UNREACHABLE", async () => {
        const pushed = await pushImage(engine, `margo-test/busybox-${engine}:1`);
        await images.stop();
        try {
          const r = await install(authFile, "down", pushed);
          expect(r.state).toEqual(["failed", "REGISTRY_UNREACHABLE"]);
        } finally {
          await images.start();
        }
      }, 180_000);
    });
  }
});
