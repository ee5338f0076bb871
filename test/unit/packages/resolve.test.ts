/**
 * resolvePackage against a real HTTP server on 127.0.0.1 (port 0) and a real
 * data directory. http is allowed in most tests because the server is plain
 * http; the https-only rule has its own test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { gzipDeterministic, writeTar, writeTarGz } from "../../../src/archive/index.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { type PackageDeps, type PackageInput, resolvePackage } from "../../../src/packages/index.ts";

const COMPOSE = "services:\n  web:\n    image: localhost/margo-test/busybox:1\n";
const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const files = new Map<string, Uint8Array | string>();
let requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;
let base: string;
let dataDir: string;

function serveFile(path: string, body: Uint8Array | string) {
  files.set(path, body);
  return `${base}${path}`;
}

beforeAll(async () => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      if (path === "/endless") {
        // Never ends and declares no length: only a streaming limit stops it.
        let n = 0;
        return new Response(new ReadableStream({ pull: (c) => { c.enqueue(new Uint8Array(64 * 1024)); if (++n > 10_000) c.close(); } }));
      }
      const body = files.get(path);
      return body === undefined ? new Response("no", { status: 404 }) : new Response(body);
    },
  });
  base = `http://127.0.0.1:${server.port}`;
  dataDir = await mkdtemp(join(tmpdir(), "margo-packages-"));
});

afterAll(async () => {
  server.stop(true);
  await rm(dataDir, { recursive: true, force: true });
});

function deps(over: Partial<PackageDeps> = {}): PackageDeps {
  return {
    dataDir,
    fetch: (url) => fetch(url),
    limits: { maxPackageBytes: 1 << 20, maxEntries: 100, maxTotalBytes: 4 << 20 },
    allowInsecureHttp: true,
    minFreeBytes: 0,
    ...over,
  };
}

const input = (packageLocation: string, over: Partial<PackageInput> = {}): PackageInput => ({
  deploymentId: "dep-1",
  componentName: "web",
  packageLocation,
  ...over,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AgentError) return err.code;
    throw err;
  }
  return "resolved";
}

describe("resolvePackage", () => {
  test("a plain compose file lands in the content-addressed cache and the deployment reference", async () => {
    const url = serveFile("/plain/compose.yaml", COMPOSE);
    const r = await resolvePackage(input(url), deps());
    expect(r.packageDigest).toBe(sha(enc(COMPOSE)));
    expect(r.dir).toBe(join(dataDir, "packages", `sha256-${r.packageDigest.slice(7)}`));
    expect(await readFile(r.composeFile, "utf8")).toBe(COMPOSE);
    const ref = JSON.parse(await readFile(join(dataDir, "deployments", "dep-1", "web", "package.json"), "utf8"));
    expect(ref).toMatchObject({ packageLocation: url, packageDigest: r.packageDigest, composeFile: r.composeFile });
  });

  test("a .tar.gz is detected by content (whatever its name) and its compose file found in a single top folder", async () => {
    const gz = writeTarGz([
      { path: "app/docker-compose.yml", data: enc(COMPOSE) },
      { path: "app/config/settings.ini", data: enc("a=1\n") },
    ]);
    const url = serveFile("/pkg/download", gz);
    const r = await resolvePackage(input(url), deps());
    expect(r.composeFile).toBe(join(r.dir, "app", "docker-compose.yml"));
    expect(await readFile(join(r.dir, "app", "config", "settings.ini"), "utf8")).toBe("a=1\n");
    expect(r.packageDigest).toBe(sha(gz));
  });

  test("a .tar.gz without a compose file is PACKAGE_INVALID; binary junk too", async () => {
    const gz = writeTarGz([{ path: "readme.txt", data: enc("hi") }]);
    expect(await codeOf(resolvePackage(input(serveFile("/nocompose.tar.gz", gz)), deps()))).toBe("PACKAGE_INVALID");
    expect(await codeOf(resolvePackage(input(serveFile("/junk", new Uint8Array([0, 159, 146, 150]))), deps()))).toBe("PACKAGE_INVALID");
  });

  test("a .tar.gz with a ../ entry is PACKAGE_UNSAFE and writes nothing outside", async () => {
    const gz = gzipDeterministic(writeTar([
      { path: "compose.yaml", data: enc(COMPOSE) },
      { path: "../escaped.txt", data: enc("x") },
    ]));
    expect(await codeOf(resolvePackage(input(serveFile("/evil.tar.gz", gz)), deps()))).toBe("PACKAGE_UNSAFE");
    expect(await Bun.file(join(dataDir, "escaped.txt")).exists()).toBe(false);
    expect(await Bun.file(join(dataDir, "packages", "escaped.txt")).exists()).toBe(false);
  });

  test("an oversized download is cut off while streaming: PACKAGE_TOO_LARGE", async () => {
    const small = deps({ limits: { maxPackageBytes: 1024, maxEntries: 10, maxTotalBytes: 4096 } });
    expect(await codeOf(resolvePackage(input(serveFile("/big", "x".repeat(5000))), small))).toBe("PACKAGE_TOO_LARGE");
    expect(await codeOf(resolvePackage(input(`${base}/endless`), small))).toBe("PACKAGE_TOO_LARGE");
  });

  test("a wrong pinned digest is DIGEST_MISMATCH naming the URL and both digests", async () => {
    const url = serveFile("/pinned.yaml", COMPOSE);
    const wrong = `sha256:${"0".repeat(64)}`;
    try {
      await resolvePackage(input(url, { expectedDigest: wrong }), deps());
      throw new Error("resolved");
    } catch (err) {
      expect((err as AgentError).code).toBe("DIGEST_MISMATCH");
      expect((err as AgentError).message).toContain(url);
      expect((err as AgentError).message).toContain(wrong);
      expect((err as AgentError).message).toContain(sha(enc(COMPOSE)));
    }
    expect(await codeOf(resolvePackage(input(url, { expectedDigest: "sha256:ABC" }), deps()))).toBe("DIGEST_UNSUPPORTED");
  });

  test("a pinned digest already in the cache is not downloaded again; unpinned always is", async () => {
    const text = `${COMPOSE}# cached\n`;
    const url = serveFile("/cached.yaml", text);
    await resolvePackage(input(url), deps());
    requests = [];
    await resolvePackage(input(url, { expectedDigest: sha(enc(text)) }), deps());
    expect(requests).toEqual([]);
    await resolvePackage(input(url), deps());
    expect(requests).toEqual(["/cached.yaml"]);
  });

  test("http is refused unless allowed; other schemes always", async () => {
    const url = serveFile("/insecure.yaml", COMPOSE);
    expect(await codeOf(resolvePackage(input(url), deps({ allowInsecureHttp: false })))).toBe("PACKAGE_INSECURE_URL");
    expect(await codeOf(resolvePackage(input("file:///etc/passwd"), deps()))).toBe("PACKAGE_DOWNLOAD_FAILED");
    expect(await codeOf(resolvePackage(input(`${base}/absent.yaml`), deps()))).toBe("PACKAGE_DOWNLOAD_FAILED");
  });

  test("too little free space is DISK_SPACE_LOW before any download", async () => {
    requests = [];
    const url = serveFile("/space.yaml", COMPOSE);
    expect(await codeOf(resolvePackage(input(url), deps({ minFreeBytes: Number.MAX_SAFE_INTEGER })))).toBe("DISK_SPACE_LOW");
    expect(requests).toEqual([]);
  });

  describe("detached PGP signatures (<packageLocation>.asc)", () => {
    let keyUrl: string;
    let signingKey: openpgp.PrivateKey;
    let otherKey: openpgp.PrivateKey;

    beforeAll(async () => {
      const make = async (name: string) =>
        openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name }], format: "object" });
      const a = await make("vendor");
      const b = await make("intruder");
      signingKey = a.privateKey;
      otherKey = b.privateKey;
      keyUrl = serveFile("/keys/vendor.asc", a.publicKey.armor());
    });

    const sign = async (data: Uint8Array, key: openpgp.PrivateKey) =>
      (await openpgp.sign({ message: await openpgp.createMessage({ binary: data }), signingKeys: key, detached: true })) as string;

    test("a valid signature verifies", async () => {
      const gz = writeTarGz([{ path: "compose.yaml", data: enc(COMPOSE) }]);
      const url = serveFile("/signed/app.tar.gz", gz);
      serveFile("/signed/app.tar.gz.asc", await sign(gz, signingKey));
      const r = await resolvePackage(input(url, { keyLocation: keyUrl }), deps());
      expect(r.packageDigest).toBe(sha(gz));
      // and again from the cache with a pin: the cached bytes are verified again
      requests = [];
      await resolvePackage(input(url, { keyLocation: keyUrl, expectedDigest: sha(gz) }), deps());
      expect(requests).not.toContain("/signed/app.tar.gz");
    }, 30_000);

    test("a signature by another key, or over other bytes, is PACKAGE_SIGNATURE_INVALID", async () => {
      const data = enc(`${COMPOSE}# v2\n`);
      const url = serveFile("/badsig/compose.yaml", data);
      serveFile("/badsig/compose.yaml.asc", await sign(data, otherKey));
      expect(await codeOf(resolvePackage(input(url, { keyLocation: keyUrl }), deps()))).toBe("PACKAGE_SIGNATURE_INVALID");
      serveFile("/badsig/compose.yaml.asc", await sign(enc("other bytes"), signingKey));
      expect(await codeOf(resolvePackage(input(url, { keyLocation: keyUrl }), deps()))).toBe("PACKAGE_SIGNATURE_INVALID");
      serveFile("/badsig/compose.yaml.asc", "not a signature");
      expect(await codeOf(resolvePackage(input(url, { keyLocation: keyUrl }), deps()))).toBe("PACKAGE_SIGNATURE_INVALID");
    }, 30_000);

    test("a missing signature is PACKAGE_SIGNATURE_INVALID", async () => {
      const url = serveFile("/unsigned/compose.yaml", `${COMPOSE}# v3\n`);
      expect(await codeOf(resolvePackage(input(url, { keyLocation: keyUrl }), deps()))).toBe("PACKAGE_SIGNATURE_INVALID");
    }, 30_000);
  });
});
