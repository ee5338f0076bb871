/**
 * The local test image: a scratch image holding the static busybox with every
 * applet linked, imported into the engine (no registry needed). Idempotent: an
 * image already present is kept.
 */
import { mkdtemp, mkdir, rm, symlink, copyFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunPlatform } from "../../src/platform/bun/index.ts";
import type { EngineName } from "./engines.ts";

export const TEST_IMAGE = "localhost/margo-test/busybox:1";
/** An image name that exists nowhere: there is no registry in tests. */
export const ABSENT_IMAGE = "localhost/margo-test/absent:1";

const BUSYBOX = process.env.MARGO_TEST_BUSYBOX ?? "/bin/busybox";
const made = new Map<EngineName, Promise<void>>();

export function cliOf(engine: EngineName): string {
  return engine === "podman" ? "podman" : "docker";
}

export function ensureTestImage(engine: EngineName): Promise<void> {
  let p = made.get(engine);
  if (!p) made.set(engine, (p = build(engine)));
  return p;
}

async function sh(argv: string[]): Promise<string> {
  const r = await bunPlatform.run(argv, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function build(engine: EngineName): Promise<void> {
  const cli = cliOf(engine);
  const present = await bunPlatform.run([cli, "image", "inspect", TEST_IMAGE], { timeoutMs: 30_000 });
  if (present.code === 0) return;
  const dir = await mkdtemp(join(tmpdir(), "margo-busybox-"));
  try {
    const root = join(dir, "root");
    for (const d of ["bin", "tmp", "etc", "www"]) await mkdir(join(root, d), { recursive: true });
    await chmod(join(root, "tmp"), 0o1777);
    await copyFile(BUSYBOX, join(root, "bin", "busybox"));
    await chmod(join(root, "bin", "busybox"), 0o755);
    const applets = (await sh([BUSYBOX, "--list"])).split("\n").map((s) => s.trim()).filter(Boolean);
    for (const a of applets) if (a !== "busybox") await symlink("busybox", join(root, "bin", a));
    await Bun.write(join(root, "etc", "passwd"), "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    await Bun.write(join(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    await Bun.write(join(root, "www", "index.html"), "ok\n");
    const tar = join(dir, "rootfs.tar");
    await sh(["tar", "-C", root, "-cf", tar, "."]);
    await sh([cli, "import", "--change", "ENV PATH=/bin", "--change", 'CMD ["sh"]', tar, TEST_IMAGE]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
