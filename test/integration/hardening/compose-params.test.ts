/**
 * Issue 10, item 1: a parameter name must never run code on the host. A hostile
 * WFM names a parameter after a variable the compose tool's runtime or loader
 * obeys (PYTHONPATH, LD_PRELOAD, …) and points it at a booby-trapped file in
 * its own package. The real agent, the real docker-compose v1 (a Python
 * program), the real engine: the trap must not fire, and the parameter must
 * still reach compose as an interpolation variable.
 *
 * Invariants held here (docs/architecture.md): INV-HOST-1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { defaultBaseEnv } from "../../../runtimes/shared/compose-adapter.ts";
import { projectName } from "../../../runtimes/shared/naming.ts";
import { type Harness, makeAgent } from "../../support/agent-harness.ts";
import { describeWithEngine, type EngineName, engineStatus, inCI } from "../../support/engines.ts";
import { startFakeWfm } from "../../support/fake-wfm.ts";
import { cliOf, ensureTestImage, TEST_IMAGE } from "../../support/images.ts";
import { containersOf, engineRuntime, removeByPrefix, serveDeployments, tarPackage } from "./compose-support.ts";

const SLOW = 120_000;
const gcc = Bun.which("gcc");
const RUN = `hp${process.pid}`;

/** A shared object whose constructor appends to `marker`: what LD_PRELOAD / LD_LIBRARY_PATH / LD_AUDIT would run. */
function trapLibrary(marker: string, work: string): Uint8Array {
  const src = join(work, "trap.c");
  writeFileSync(src, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void trap(void) {\n  int fd = open(${JSON.stringify(marker)}, O_WRONLY | O_CREAT | O_APPEND, 0644);\n  if (fd >= 0) { write(fd, "ran\\n", 4); close(fd); }\n}\n`);
  const out = join(work, "trap.so");
  const r = Bun.spawnSync([gcc!, "-shared", "-fPIC", "-o", out, src]);
  if (r.exitCode !== 0) throw new Error(`gcc failed: ${r.stderr.toString()}`);
  return new Uint8Array(readFileSync(out));
}

const COMPOSE = `services:
  web:
    image: ${TEST_IMAGE}
    pull_policy: never
    command: ["sleep", "3600"]
    stop_signal: SIGKILL
    environment:
      SEEN: "\${SEEN_VALUE:-unset}"
`;

for (const engine of ["docker", "podman"] as EngineName[]) {
  const status = await engineStatus(engine);
  describeWithEngine(status, `parameter names cannot run code on the host (${engine}, docker-compose v1)`, () => {
    const wfm = startFakeWfm();
    const work = mkdtempSync(join(tmpdir(), "hard-params-"));
    const marker = join(work, "marker");
    const dataDir = mkdtempSync(join(tmpdir(), "hard-params-data-"));
    let pkgDir = "";
    let h: Harness;
    const ids: string[] = [];

    beforeAll(async () => {
      await ensureTestImage(engine);
      const files: Record<string, string | Uint8Array> = {
        "compose.yaml": COMPOSE,
        // Python runs sitecustomize from any PYTHONPATH entry at start-up.
        "sitecustomize.py": `open(${JSON.stringify(marker)}, "a").write("ran\\n")\n`,
      };
      if (gcc) {
        const so = trapLibrary(marker, work);
        files["trap.so"] = so;
        // python3 links libz.so.1: with LD_LIBRARY_PATH=<package> the loader takes this one.
        files["libz.so.1"] = so;
      }
      const pkg = tarPackage(files, dataDir);
      pkgDir = pkg.dir;
      wfm.set("/pkg/trap.tar.gz", pkg.bytes);
      h = makeAgent({ wfmUrl: wfm.url, dataDir, runtime: engineRuntime(engine) });
    }, SLOW);

    afterAll(async () => {
      await h?.agent.stop();
      await (h?.runtime as { close?: () => Promise<void> })?.close?.();
      await removeByPrefix(engine, ids);
      wfm.stop();
      rmSync(work, { recursive: true, force: true });
    }, SLOW);

    const traps: [string, () => string, boolean][] = [
      ["PYTHONPATH", () => pkgDir, true],
      ["LD_PRELOAD", () => join(pkgDir, "trap.so"), Boolean(gcc)],
      ["LD_LIBRARY_PATH", () => pkgDir, Boolean(gcc)],
      ["LD_AUDIT", () => join(pkgDir, "trap.so"), Boolean(gcc)],
    ];
    for (const [name, value, runnable] of traps) {
      // Without gcc the shared-object traps cannot be built; CI installs gcc and must run them.
      test.skipIf(!runnable && !inCI)(`${name} pointing at the package's trap: nothing runs, the value still reaches compose`, async () => {
        const id = `${RUN}-${engine}-${name.toLowerCase().replaceAll("_", "-")}`;
        ids.push(id);
        rmSync(marker, { force: true });
        serveDeployments(wfm, [{ id, packagePath: "/pkg/trap.tar.gz", parameters: { [name]: value(), SEEN_VALUE: value() } }]);
        expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("applied");
        expect(existsSync(marker) ? readFileSync(marker, "utf8") : "").toBe("");
        const d = h.agent.store.getDeployment(id);
        expect({ state: d?.state, error: d?.error }).toEqual({ state: "installed", error: undefined });
        const [cid] = await containersOf(engine, id);
        const seen = await bunPlatform.run([cliOf(engine), "exec", cid!, "sh", "-c", 'echo "$SEEN"'], { timeoutMs: 30_000 });
        expect(seen.stdout.trim()).toBe(value());
      }, SLOW);
    }

    test("no parameter ever enters the compose tool's environment (the real tool, behind a recording shim)", async () => {
      // A docker-compose on PATH ahead of the real one records the environment it was started with.
      const shimDir = join(work, "shim");
      mkdirSync(shimDir, { recursive: true });
      const envLog = join(work, "tool-env.log");
      const real = Bun.which("docker-compose")!;
      writeFileSync(join(shimDir, "docker-compose"), `#!/bin/sh\n{ echo '--- '"$*"; env; } >> ${JSON.stringify(envLog)}\nexec ${JSON.stringify(real)} "$@"\n`);
      chmodSync(join(shimDir, "docker-compose"), 0o755);
      const base = defaultBaseEnv();
      const runtime = engineRuntime(engine, { ...base, PATH: `${shimDir}:${base.PATH}` });
      const names = ["PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "NODE_OPTIONS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "BASH_ENV", "ENV", "PERL5OPT", "GCONV_PATH", "MALLOC_CONF", "OPENSSL_CONF"];
      const env = Object.fromEntries(names.map((n) => [n, `${pkgDir}/${n}`]));
      const deployment = { deploymentId: `${RUN}-${engine}-shim`, name: "shim", digest: `sha256:${"d".repeat(64)}` };
      ids.push(deployment.deploymentId);
      const ctx = { signal: new AbortController().signal, workDir: join(work, "shim-work") };
      try {
        await runtime.applyComponent(deployment, { name: "web", composeFile: join(pkgDir, "compose.yaml"), packageDigest: `sha256:${"e".repeat(64)}`, env: { ...env, SEEN_VALUE: "via-env-file" }, wait: true, timeoutMs: 30_000 }, ctx);
        const [cid] = await containersOf(engine, deployment.deploymentId);
        const seen = await bunPlatform.run([cliOf(engine), "exec", cid!, "sh", "-c", 'echo "$SEEN"'], { timeoutMs: 30_000 });
        expect(seen.stdout.trim()).toBe("via-env-file");
        await runtime.removeComponent(deployment, "web", ctx);
      } finally {
        await runtime.close?.();
      }
      const log = readFileSync(envLog, "utf8");
      const runs = log.split("--- ").filter(Boolean);
      expect(runs.length).toBeGreaterThanOrEqual(3); // config, up, down (and version probes)
      const keys = new Set(runs.flatMap((r) => r.split("\n").slice(1).map((l) => l.split("=")[0]!).filter(Boolean)));
      for (const n of [...names, "SEEN_VALUE"]) expect(keys.has(n)).toBe(false);
      expect(log).not.toContain(pkgDir + "/PYTHONPATH");
      expect(log).toContain(projectName(deployment.deploymentId, "web"));
    }, SLOW);
  });
}
