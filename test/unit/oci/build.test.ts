/** `package build`: deterministic bytes, sorted entries, normalised modes, and the Margo rules enforced at build time. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AgentError } from "../../../src/errors/index.ts";
import { buildComposeArchive } from "../../../src/oci/build.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "margo-oci-build-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function app(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  return dir;
}

/** name and octal mode of every tar header (ustar, no pax in these tests). */
function headers(gz: Uint8Array): { name: string; mode: number }[] {
  const tar = gunzipSync(gz);
  const out: { name: string; mode: number }[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const text = (a: number, b: number) => new TextDecoder().decode(h.subarray(a, b)).replace(/\0.*$/s, "");
    const size = Number.parseInt(text(124, 136), 8);
    out.push({ name: text(0, 100), mode: Number.parseInt(text(100, 108), 8) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

const COMPOSE = "services:\n  web:\n    image: busybox\n    env_file: conf/web.env\nconfigs:\n  c:\n    file: ./conf/c.txt\n";

describe("package build", () => {
  test("the same files give the same bytes and digest, whatever their mtimes and the order on disk", async () => {
    const dir = await app("same", { "compose.yaml": COMPOSE, "conf/web.env": "A=1\n", "conf/c.txt": "c", "scripts/run.sh": "#!/bin/sh\n" });
    await chmod(join(dir, "scripts/run.sh"), 0o750);
    const a = await buildComposeArchive(dir);
    await utimes(join(dir, "compose.yaml"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await chmod(join(dir, "conf/c.txt"), 0o600);
    const b = await buildComposeArchive(dir);
    expect(b.digest).toBe(a.digest);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(headers(a.bytes)).toEqual([
      { name: "same/compose.yaml", mode: 0o644 },
      { name: "same/conf/c.txt", mode: 0o644 },
      { name: "same/conf/web.env", mode: 0o644 },
      { name: "same/scripts/run.sh", mode: 0o755 },
    ]);
    const renamed = await buildComposeArchive(dir, { name: "other" });
    expect(renamed.digest).not.toBe(a.digest);
    expect(renamed.top).toBe("other");
  });

  test("VCS metadata is left out, empty directories are reported", async () => {
    const dir = await app("vcs", { "compose.yaml": "services: {}\n", ".git/config": "x" });
    await mkdir(join(dir, "empty"));
    const built = await buildComposeArchive(dir);
    expect(built.files).toEqual(["vcs/compose.yaml"]);
    expect(built.warnings.join("\n")).toContain(".git: left out");
    expect(built.warnings.join("\n")).toContain("empty/: empty directory");
  });

  const refused: [string, Record<string, string>, string][] = [
    ["no compose.yaml", { "docker-compose.yml": "services: {}\n" }, "holds no compose.yaml"],
    ["compose.yml beside compose.yaml", { "compose.yaml": "services: {}\n", "compose.yml": "services: {}\n" }, "must be named compose.yaml"],
    ["an env_file that is missing", { "compose.yaml": "services:\n  w:\n    image: b\n    env_file: w.env\n" }, "does not hold"],
    ["an env_file outside the directory", { "compose.yaml": "services:\n  w:\n    image: b\n    env_file: ../w.env\n" }, "relative path inside"],
    ["a secret file inside the archive", { "compose.yaml": "services: {}\nsecrets:\n  db:\n    file: ./secrets/db.txt\n", "secrets/db.txt": "pw" }, "secret files must not be packaged"],
    ["compose.yaml that is not YAML", { "compose.yaml": "services: [\n" }, "not YAML"],
  ];
  test.each(refused)("refused: %s", async (name, files, words) => {
    const err = (await buildComposeArchive(await app(name.replace(/\W+/g, "-"), files)).catch((e) => e)) as AgentError;
    expect(err.code).toBe("ARTIFACT_INVALID");
    expect(err.message).toContain(words);
  });

  test("refused: a symbolic link, even to a file inside", async () => {
    const dir = await app("link", { "compose.yaml": "services: {}\n" });
    await symlink("compose.yaml", join(dir, "alias.yaml"));
    const err = (await buildComposeArchive(dir).catch((e) => e)) as AgentError;
    expect(err.code).toBe("ARTIFACT_INVALID");
    expect(err.message).toContain("symbolic link alias.yaml");
  });

  test("refused: a directory name that cannot be a top-level directory, and a missing directory", async () => {
    const dir = await app("ok", { "compose.yaml": "services: {}\n" });
    expect(((await buildComposeArchive(dir, { name: "../x" }).catch((e) => e)) as AgentError).code).toBe("ARTIFACT_INVALID");
    expect(((await buildComposeArchive(join(root, "nope")).catch((e) => e)) as AgentError).message).toContain("is not a directory");
  });
});
