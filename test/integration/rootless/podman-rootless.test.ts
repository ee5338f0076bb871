/**
 * Issue 3: the Podman adapter works rootless too. As root, the test makes an
 * unprivileged user (subordinate ids come with useradd on Debian), hands it the
 * test image and a one-file bundle of probe.ts plus the bun executable, and runs
 * the probe as that user: apply (two services, waited for), parameters reach the
 * container, inspect by labels, remove.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { engineStatus, inCI } from "../../support/engines.ts";
import { ensureTestImage, TEST_IMAGE } from "../../support/images.ts";

const USER = "margo-rootless";
const ROOT = resolve(import.meta.dir, "../../..");
const run = (argv: string[], timeoutMs = 120_000) => bunPlatform.run(argv, { timeoutMs });
const podman = await engineStatus("podman");
const isRoot = process.getuid?.() === 0;
const reason = !isRoot ? "needs root to create the unprivileged user" : !podman.available ? podman.reason : undefined;
if (reason && !inCI) console.warn(`[skip] rootless Podman: ${reason}`);

const dir = mkdtempSync("/tmp/margo-rootless-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.skipIf(reason !== undefined && !inCI)("the Podman adapter applies, inspects and removes a component rootless", async () => {
  if (reason) throw new Error(`rootless Podman: ${reason}; CI must run this test`);
  if ((await run(["id", USER])).code !== 0) expect((await run(["useradd", "--create-home", USER])).code).toBe(0);
  const home = (await run(["sh", "-c", `getent passwd ${USER} | cut -d: -f6`])).stdout.trim();
  const uid = (await run(["id", "-u", USER])).stdout.trim();
  const xdg = join(dir, `xdg-${uid}`);
  const as = (argv: string[]) => run(["runuser", "-u", USER, "--", "env", `HOME=${home}`, `XDG_RUNTIME_DIR=${xdg}`, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", ...argv], 240_000);

  // What the user gets: the image, the bundled probe, bun, a compose file; all readable, nothing of root's.
  await ensureTestImage("podman");
  const image = join(dir, "image.tar");
  expect((await run(["podman", "save", "-o", image, TEST_IMAGE])).code).toBe(0);
  const built = await run([process.execPath, "build", join(import.meta.dir, "probe.ts"), "--target", "bun", "--outfile", join(dir, "probe.js")]);
  expect(built.stderr).toBe("");
  copyFileSync(process.execPath, join(dir, "bun"));
  writeFileSync(join(dir, "compose.yaml"), `services:\n  a:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    environment: {GREETING: "\${GREETING}"}\n  b:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n`);
  for (const f of ["image.tar", "probe.js", "compose.yaml"]) chmodSync(join(dir, f), 0o644);
  chmodSync(join(dir, "bun"), 0o755);
  chmodSync(dir, 0o755);
  const work = join(dir, "work");
  for (const d of [xdg, work]) {
    expect((await run(["mkdir", "-p", "-m", "0700", d])).code).toBe(0);
    expect((await run(["chown", `${USER}:`, d])).code).toBe(0);
  }
  expect((await as(["podman", "load", "-q", "-i", image])).code).toBe(0);

  const out = await as([join(dir, "bun"), join(dir, "probe.js"), work, join(dir, "compose.yaml")]);
  const result = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "{}");
  expect({ error: result.error, stderr: result.error ? out.stderr.slice(-800) : undefined }).toEqual({ error: undefined, stderr: undefined });
  expect(result.engine.reachable).toBe(true);
  expect(result.profiles).toEqual(["compose"]);
  expect(result.afterApply).toEqual([{ deploymentId: "rootless-1", components: [expect.objectContaining({ name: "web", state: "running" })] }]);
  expect(result.greeting).toBe("rootless");
  expect(result.afterRemove).toEqual([]);
  // Rootless: the containers were the user's, not root's.
  expect((await run(["podman", "ps", "-a", "--filter", "label=org.margo.deployment-id=rootless-1", "--format", "{{.Names}}"])).stdout.trim()).toBe("");
}, 300_000);
