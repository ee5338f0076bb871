import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentError } from "../../../src/errors/index.ts";
import { loadAuthFile, normaliseHost } from "../../../src/oci/auth-file.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "margo-authfile-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, body: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  await chmod(path, mode);
  return path;
}
const b64 = (s: string) => Buffer.from(s).toString("base64");

test("docker config.json: auth, username/password, and every key spelling docker writes", async () => {
  const path = await file(
    "ok.json",
    JSON.stringify({
      auths: {
        "registry.example.com": { auth: b64("alice:pa:ss") },
        "https://mirror.example:5000/v2/": { username: "bob", password: "pw" },
        "https://index.docker.io/v1/": { auth: b64("carol:x") },
        "empty.example": {},
      },
      credsStore: "desktop",
    }),
    0o600,
  );
  const lookup = await loadAuthFile(path);
  expect(lookup("registry.example.com")).toEqual({ username: "alice", password: "pa:ss" });
  expect(lookup("mirror.example:5000")).toEqual({ username: "bob", password: "pw" });
  expect(lookup("docker.io")).toEqual({ username: "carol", password: "x" });
  expect(lookup("empty.example")).toBeUndefined();
  expect(lookup("other.example")).toBeUndefined();
  expect(normaliseHost("HTTPS://Registry.Example.com:443/")).toBe("registry.example.com");
});

test("a file readable by group or others is refused, naming the file and the fix", async () => {
  for (const mode of [0o644, 0o640, 0o604]) {
    const path = await file(`open-${mode.toString(8)}.json`, JSON.stringify({ auths: {} }), mode);
    const err = (await loadAuthFile(path).catch((e) => e)) as AgentError;
    expect(err.code).toBe("CONFIG_INVALID");
    expect(err.message).toContain(path);
    expect(err.message).toContain("chmod 600");
  }
  expect(await loadAuthFile(await file("ro.json", "{}", 0o400))).toBeFunction();
});

test("a malformed file is refused without quoting its content (it may hold a password)", async () => {
  const path = await file("bad.json", '{"auths": {"r": {"auth": "c2VjcmV0LXBhc3N3b3Jk"}}, oops hunter2', 0o600);
  const err = (await loadAuthFile(path).catch((e) => e)) as AgentError;
  expect(err.code).toBe("CONFIG_INVALID");
  expect(JSON.stringify({ m: err.message, d: err.details, s: err.stack })).not.toContain("hunter2");
  expect(err.message).not.toContain("c2VjcmV0");
  expect(((await loadAuthFile(join(dir, "missing.json")).catch((e) => e)) as AgentError).code).toBe("CONFIG_INVALID");
});
