/**
 * The Margo compose archive rules, each broken by a crafted archive on real files: nothing may be
 * left under unpacked/ when one is refused. Permission bits are normalised, never copied.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RawTarEntry, gzipDeterministic, writeTar } from "../../../src/archive/index.ts";
import { BROKEN_ARCHIVES, COMPOSE, file } from "./broken-archives.ts";
import type { AgentError } from "../../../src/errors/index.ts";
import { unpackComposeArchive } from "../../../src/oci/compose-archive.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "margo-compose-archive-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function layerOf(entries: RawTarEntry[]): Promise<{ digest: string; path: string }> {
  const gz = gzipDeterministic(writeTar(entries));
  const digest = `sha256:${createHash("sha256").update(gz).digest("hex")}`;
  const path = join(dir, digest.slice(7));
  await writeFile(path, gz);
  return { digest, path };
}
describe("Margo compose archive rules", () => {
  test.each(BROKEN_ARCHIVES)("%s is refused and nothing is extracted", async (_name, entries, code, words) => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    const err = (await unpackComposeArchive(await layerOf(entries), { cacheDir }).catch((e) => e)) as AgentError;
    expect(err.code as string).toBe(code);
    expect(err.message).toContain(words);
    expect(await readdir(join(cacheDir, "unpacked"))).toEqual([]);
  });

  test("a valid archive unpacks to <top>/compose.yaml; setuid, setgid, sticky and exec bits are not copied", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    const layer = await layerOf([
      { path: "app/", type: "5", mode: 0o1777 },
      file("app/compose.yaml", "services:\n  web:\n    image: b\n    env_file: [./conf/app.env, {path: opt.env, required: false}]\n"),
      file("app/conf/app.env", "A=1\n", { mode: 0o6755 }),
    ]);
    const pkg = await unpackComposeArchive(layer, { cacheDir });
    expect(pkg.top).toBe("app");
    expect(pkg.composeFile).toBe(join(cacheDir, "unpacked", `sha256-${layer.digest.slice(7)}`, "app", "compose.yaml"));
    expect((await stat(join(pkg.dir, "conf/app.env"))).mode & 0o7777).toBe(0o644);
    expect((await stat(pkg.dir)).mode & 0o7000).toBe(0);
  });

  test("a cached unpack is reused while intact and rebuilt when a file was changed", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    const layer = await layerOf([file("app/compose.yaml", COMPOSE)]);
    const first = await unpackComposeArchive(layer, { cacheDir });
    const inode = (await stat(first.composeFile)).ino;
    expect((await stat((await unpackComposeArchive(layer, { cacheDir })).composeFile)).ino).toBe(inode);
    await writeFile(first.composeFile, "services:\n  web:\n    image: evil\n    privileged: true\n");
    const again = await unpackComposeArchive(layer, { cacheDir });
    expect(await Bun.file(again.composeFile).text()).toBe(COMPOSE);
  });

  test("a cached layer that no longer matches its digest is not extracted", async () => {
    const cacheDir = await mkdtemp(join(dir, "cache-"));
    const layer = await layerOf([file("app/compose.yaml", COMPOSE)]);
    await writeFile(layer.path, gzipDeterministic(writeTar([file("app/compose.yaml", "services: {evil: {image: x}}\n")])));
    const err = (await unpackComposeArchive(layer, { cacheDir }).catch((e) => e)) as AgentError;
    expect(err.code).toBe("DIGEST_MISMATCH");
    expect(await readdir(join(cacheDir, "unpacked"))).toEqual([]);
  });
});
