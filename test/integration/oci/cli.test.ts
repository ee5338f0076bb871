/**
 * `margo-agent package build | push | inspect` as a developer runs them (the real CLI in a
 * subprocess), against a real registry with TLS and htpasswd; what push wrote, the agent's puller
 * reads back with the same digest.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fetchComposeComponent } from "../../../src/oci/component.ts";
import { type Pki, type RunningRegistry, describeWithRegistry, makePki, startRegistry } from "../../support/registry.ts";
import { COMPOSE, accessFor, appDir, newPuller, pushCustom, transportFor, workDir, cleanup } from "./fixture.ts";

const CLI = join(import.meta.dir, "../../../src/cli.ts");
const PASSWORD = "cli-secret-pw-123";

async function cli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn([process.execPath, CLI, "package", ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, DOCKER_CONFIG: "/nonexistent", NO_COLOR: "1" } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describeWithRegistry("margo-agent package", () => {
  let pki: Pki;
  let reg: RunningRegistry;
  let authFile: string;
  let app: string;
  const regFlags = () => ["--auth-file", authFile, "--ca-file", pki.caFile];

  beforeAll(async () => {
    pki = await makePki();
    reg = await startRegistry(pki, { kind: "htpasswd", users: { dev: PASSWORD } });
    const dir = await workDir("cli");
    authFile = join(dir, "config.json");
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`dev:${PASSWORD}`).toString("base64") } } }));
    await chmod(authFile, 0o600);
    app = await appDir("hello", { "compose.yaml": COMPOSE, "conf/hello.env": "GREETING=hi\n" });
  });
  afterAll(cleanup);

  test("build writes the same archive twice (same digest), to --out or <name>-compose.tar.gz", async () => {
    const out = await workDir("out");
    const a = await cli(["build", app, "--out", join(out, "a.tgz"), "--json"]);
    const b = await cli(["build", app, "--json"], out);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ja = JSON.parse(a.stdout);
    const jb = JSON.parse(b.stdout);
    expect(jb.digest).toBe(ja.digest);
    expect(jb.file).toBe("hello-compose.tar.gz");
    expect(ja.files).toEqual(["hello/compose.yaml", "hello/conf/hello.env"]);
    expect(Bun.hash(await Bun.file(join(out, "a.tgz")).bytes())).toBe(Bun.hash(await Bun.file(join(out, "hello-compose.tar.gz")).bytes()));
  });

  test("push is accepted by the registry and pulled back by the agent with the build's digest; inspect shows what the agent sees", async () => {
    const built = JSON.parse((await cli(["build", app, "--out", join(await workDir("o"), "x.tgz"), "--json"])).stdout);
    const pushed = await cli(["push", app, `oci://${reg.host}/apps/hello:1.2.3`, ...regFlags(), "--description", "a greeting", "--authors", "ACME (dev@acme.example)"]);
    expect(pushed.stderr).toBe("");
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toContain(`pushed oci://${reg.host}/apps/hello:1.2.3`);
    expect(pushed.stdout).toContain(built.digest);

    const access = accessFor(pki, [reg.host], { credentials: (h) => (h === reg.host ? { username: "dev", password: PASSWORD } : undefined) });
    const got = await fetchComposeComponent(await newPuller(access), { deploymentId: "d", componentName: "hello", repository: `oci://${reg.host}/apps/hello`, revision: "1.2.3" });
    expect(got.packageDigest).toBe(built.digest);
    expect(got.pulled.annotations).toMatchObject({
      "org.margo.component.type": "compose",
      "org.margo.component.version": "1.2.3",
      "org.opencontainers.image.version": "1.2.3",
      "org.opencontainers.image.title": "hello",
      "org.opencontainers.image.description": "a greeting",
      "org.opencontainers.image.authors": "ACME (dev@acme.example)",
    });
    expect(got.pulled.manifest.layers[0]!.annotations?.["org.margo.component.type"]).toBe("compose");

    const shown = await cli(["inspect", `oci://${reg.host}/apps/hello:1.2.3`, ...regFlags()]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`manifest      ${got.manifestDigest}`);
    expect(shown.stdout).toContain("artifactType  application/vnd.org.margo.component.compose+json");
    expect(shown.stdout).toContain("  hello/conf/hello.env");
    expect(shown.stdout).toContain("verdict       OK");
    const json = JSON.parse((await cli(["inspect", `oci://${reg.host}/apps/hello@${got.manifestDigest}`, ...regFlags(), "--json"])).stdout);
    expect(json.verdict).toEqual({ ok: true });
    expect(json.archive.composeFile).toBe("hello/compose.yaml");
  });

  test("inspect of an artifact a device would refuse exits 1 and says why", async () => {
    const access = accessFor(pki, [reg.host], { credentials: () => ({ username: "dev", password: PASSWORD }) });
    await pushCustom(transportFor(access), reg.host, "apps/wrong", "1.0.0", { layer: new TextEncoder().encode("x"), artifactType: "application/vnd.docker.compose.project" });
    const shown = await cli(["inspect", `oci://${reg.host}/apps/wrong:1.0.0`, ...regFlags()]);
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain("verdict       REFUSED ARTIFACT_INVALID");
  });

  test("failures: no credentials (401), an auth file others can read, a tag that is not SemVer, a bad reference", async () => {
    const anonymous = await cli(["push", app, `oci://${reg.host}/apps/hello:1.2.4`, "--ca-file", pki.caFile]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain("REGISTRY_UNAUTHORIZED");

    await chmod(authFile, 0o644);
    const open = await cli(["push", app, `oci://${reg.host}/apps/hello:1.2.4`, ...regFlags()]);
    await chmod(authFile, 0o600);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain("CONFIG_INVALID");
    expect(open.stderr).toContain("chmod 600");
    expect(open.stderr + open.stdout).not.toContain(PASSWORD);

    const notSemver = await cli(["push", app, `oci://${reg.host}/apps/hello:latest`, ...regFlags()]);
    expect(notSemver.code).toBe(2);
    expect(notSemver.stderr).toContain("not a SemVer 2.0 version");
    expect((await cli(["inspect", "https://example.com/x"])).code).toBe(2);
    expect((await cli(["frobnicate"])).code).toBe(2);
  });
});
