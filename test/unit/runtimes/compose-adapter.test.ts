/**
 * What the compose adapter hands the compose tool: argv, environment, env
 * file. Docker Compose v2 is not installed here, so its side is checked with a
 * recording `run` that answers as v2 would (the real v1 is in
 * test/integration/hardening/compose-params.test.ts).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ComposeAdapter, PASSED_ENV } from "../../../runtimes/shared/compose-adapter.ts";
import type { ContainerEngine } from "../../../runtimes/shared/engine.ts";
import { envFileText } from "../../../runtimes/shared/env-file.ts";
import { projectName } from "../../../runtimes/shared/naming.ts";
import type { ResolvedComponent } from "../../../runtimes/types.ts";
import { AgentError } from "../../../src/errors/index.ts";
import type { ProcessResult, RunOptions } from "../../../src/platform/types.ts";

const root = mkdtempSync(join(tmpdir(), "adapter-unit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const BASE_ENV = { PATH: "/usr/bin:/bin", HOME: "/root" };
const ENGINE_ENV = { DOCKER_HOST: "unix:///run/test/podman.sock" };
const deployment = { deploymentId: "dep-1", name: "dep", digest: `sha256:${"a".repeat(64)}` };
const project = projectName("dep-1", "web");

interface Call {
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
}

/** A compose tool that answers like Docker Compose v2 (or v1): `config` prints `model`, `$` doubled as both tools do. */
function fakeTool(kind: "v1" | "v2", model: () => unknown, configFails?: string) {
  const calls: Call[] = [];
  const run = async (argv: string[], opts: RunOptions = {}): Promise<ProcessResult> => {
    calls.push({ argv, env: { ...(opts.env ?? {}) }, cwd: opts.cwd });
    const ok = (stdout = ""): ProcessResult => ({ code: 0, stdout, stderr: "", killed: false });
    const line = argv.join(" ");
    if (line.endsWith("version --short")) {
      if (kind === "v2" && argv[0] === "docker" && argv[1] === "compose") return ok("2.29.7\n");
      if (kind === "v1" && argv[0] === "docker-compose") return ok("1.29.2\n");
      return { code: 1, stdout: "", stderr: "not found", killed: false };
    }
    if (argv.includes("config")) {
      if (configFails) return { code: 1, stdout: "", stderr: configFails, killed: false };
      const text = kind === "v2" ? JSON.stringify(model()) : JSON.stringify(model()); // JSON is YAML: v1 prints YAML
      return ok(text.replaceAll("$", "$$"));
    }
    return ok();
  };
  return { calls, run };
}

const engine: ContainerEngine = {
  name: "podman",
  cli: "podman",
  prepareCompose: async () => ({ ...ENGINE_ENV }),
  list: async () => [],
  version: async () => ({ reachable: true, version: "podman 4" }),
};

let n = 0;
function pkg(compose: string, files: Record<string, string> = {}): string {
  const dir = join(root, `pkg-${++n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), compose);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return join(dir, "compose.yaml");
}

const component = (composeFile: string, env: Record<string, string>): ResolvedComponent => ({
  name: "web",
  composeFile,
  packageDigest: `sha256:${"b".repeat(64)}`,
  env,
  policy: { allowPrivileged: false, allowHostNamespaces: false, allowedBindPaths: [] },
  wait: false,
  timeoutMs: 10_000,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return `${(e as AgentError).code}: ${(e as AgentError).message}`;
  }
}

const HOSTILE = { PYTHONPATH: "/pkg", LD_PRELOAD: "/pkg/x.so", LD_LIBRARY_PATH: "/pkg", NODE_OPTIONS: "--require /pkg/x.js", SSL_CERT_FILE: "/pkg/ca.pem", BASH_ENV: "/pkg/x.sh" };

describe("the compose tool's argv and environment", () => {
  let workDir: string;
  beforeEach(() => {
    workDir = join(root, `work-${++n}`);
  });
  const ctx = () => ({ signal: new AbortController().signal, workDir });

  for (const kind of ["v2", "v1"] as const) {
    test(`${kind}: parameters go into the env file only; config, then up, with the same env file, project and directory`, async () => {
      const file = pkg('services:\n  web:\n    image: x\n    environment: {G: "${G}"}\n', { ".env": "FROM_DOTENV=1 # comment\n" });
      const tool = fakeTool(kind, () => ({ services: { web: { image: "x", environment: { G: "hello $x" } } } }));
      const adapter = new ComposeAdapter({ run: tool.run, engine, baseEnv: BASE_ENV, composeTool: kind });
      const params = { ...HOSTILE, G: 'hello "$x"\n# not a comment' };
      await adapter.applyComponent(deployment, component(file, params), ctx());

      const prefix = kind === "v2" ? ["docker", "compose"] : ["docker-compose"];
      const envFile = join(workDir, `${project}.env`);
      const override = join(workDir, `${project}.override.yaml`);
      const composeCalls = tool.calls.filter((c) => c.argv.includes("--project-name"));
      expect(composeCalls.map((c) => c.argv)).toEqual([
        [...prefix, "--project-name", project, "--file", file, "--env-file", envFile, "config", ...(kind === "v2" ? ["--format", "json"] : [])],
        [...prefix, "--project-name", project, "--file", file, "--file", override, "--env-file", envFile, "up", "--detach", "--remove-orphans"],
      ]);
      for (const c of composeCalls) expect(c.cwd).toBe(workDir);
      // Every process the adapter started had exactly the fixed environment: no parameter, nothing else.
      for (const c of tool.calls) {
        for (const key of Object.keys(c.env)) expect([...PASSED_ENV, ...Object.keys(ENGINE_ENV)]).toContain(key);
        for (const key of Object.keys(params)) expect(c.env[key]).toBeUndefined();
      }
      expect(composeCalls[0]!.env).toEqual({ ...BASE_ENV, ...ENGINE_ENV });
      expect(readFileSync(envFile, "utf8")).toBe(envFileText({ FROM_DOTENV: "1", ...params }, kind));
      expect(statSync(envFile).mode & 0o777).toBe(0o600);

      // down passes the same env file, so the tool never falls back to the package's .env
      await adapter.removeComponent(deployment, "web", ctx());
      const down = tool.calls.find((c) => c.argv.includes("down"))!;
      expect(down.argv).toContain("--env-file");
      expect(down.argv[down.argv.indexOf("--env-file") + 1]).toBe(envFile);
    });
  }

  test("a rendered model that breaks the policy is refused before up runs", async () => {
    const file = pkg("x-base: &b {privileged: true}\nservices:\n  web:\n    <<: *b\n    image: x\n");
    const tool = fakeTool("v2", () => ({ services: { web: { image: "x", privileged: true } } }));
    const adapter = new ComposeAdapter({ run: tool.run, engine, baseEnv: BASE_ENV, composeTool: "v2" });
    expect(await codeOf(adapter.applyComponent(deployment, component(file, {}), ctx()))).toContain("COMPOSE_POLICY_DENIED: applying component \"web\" of deployment dep-1: services.web.privileged");
    expect(tool.calls.some((c) => c.argv.includes("up"))).toBe(false);
  });

  test("a model the tool cannot render is COMPOSE_INVALID and nothing is started", async () => {
    const file = pkg("services:\n  web:\n    image: x\n");
    const tool = fakeTool("v2", () => ({}), "validating compose.yaml: services.web additional properties 'bogus' not allowed");
    const adapter = new ComposeAdapter({ run: tool.run, engine, baseEnv: BASE_ENV, composeTool: "v2" });
    expect(await codeOf(adapter.applyComponent(deployment, component(file, {}), ctx()))).toStartWith("COMPOSE_INVALID");
    expect(tool.calls.some((c) => c.argv.includes("up"))).toBe(false);
  });

  const early: [string, () => string, Record<string, string>, string][] = [
    ["a parameter named after a tool setting", () => pkg("services:\n  web: {image: x}\n"), { DOCKER_HOST: "tcp://evil:2375" }, "DEPLOYMENT_INVALID"],
    ["a parameter pointer that is no variable name", () => pkg("services:\n  web: {image: x}\n"), { "LD.PRELOAD": "/x" }, "DEPLOYMENT_INVALID"],
    ["a parameter the tool's environment would override", () => pkg("services:\n  web: {image: x}\n"), { PATH: "/pkg" }, "DEPLOYMENT_INVALID"],
    ["a package .env redirecting the tool", () => pkg("services:\n  web: {image: x}\n", { ".env": "DOCKER_HOST=tcp://evil:2375\n" }), {}, "COMPOSE_POLICY_DENIED"],
    ["extends from a host file", () => pkg("services:\n  web:\n    extends: {file: /etc/passwd, service: x}\n"), {}, "COMPOSE_POLICY_DENIED"],
    ["env_file of the host", () => pkg("services:\n  web: {image: x, env_file: /etc/shadow}\n"), {}, "COMPOSE_POLICY_DENIED"],
    ["an env_file path from a variable", () => pkg("services:\n  web: {image: x, env_file: '${F}'}\n"), { F: "/etc/shadow" }, "COMPOSE_POLICY_DENIED"],
    ["a merge key hiding env_file", () => pkg("x-b: &b {env_file: [../../../../etc/shadow]}\nservices:\n  web: {<<: *b, image: x}\n"), {}, "COMPOSE_POLICY_DENIED"],
    ["include", () => pkg("include: [other.yaml]\nservices:\n  web: {image: x}\n"), {}, "COMPOSE_POLICY_DENIED"],
    [
      "a package .env that is a symlink to a host file",
      () => {
        const f = pkg("services:\n  web: {image: x}\n");
        symlinkSync("/etc/shadow", join(f, "..", ".env"));
        return f;
      },
      {},
      "COMPOSE_POLICY_DENIED",
    ],
    [
      "an env_file inside the package that is a symlink out of it",
      () => {
        const f = pkg("services:\n  web: {image: x, env_file: ./app.env}\n");
        symlinkSync("/etc/shadow", join(f, "..", "app.env"));
        return f;
      },
      {},
      "COMPOSE_POLICY_DENIED",
    ],
  ];
  for (const [what, file, env, code] of early) {
    test(`${what}: ${code}, and the tool never renders it`, async () => {
      const tool = fakeTool("v2", () => ({ services: { web: { image: "x" } } }));
      const adapter = new ComposeAdapter({ run: tool.run, engine, baseEnv: BASE_ENV, composeTool: "v2" });
      expect(await codeOf(adapter.applyComponent(deployment, component(file(), env), ctx()))).toStartWith(code);
      expect(tool.calls.filter((c) => c.argv.includes("--project-name"))).toEqual([]);
    });
  }
});
