/**
 * resolvePackage against a real HTTP server on 127.0.0.1 (port 0) and a real
 * data directory. http is allowed in most tests because the server is plain
 * http; the https-only rule has its own test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import { gzipDeterministic, writeTar, writeTarGz } from "../../../src/archive/index.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { type PackageDeps, type PackageInput, resolvePackage } from "../../../src/packages/index.ts";
import { tarGzBomb } from "../archive/build.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

const COMPOSE = "services:\n  web:\n    image: localhost/margo-test/busybox:1\n";
const enc = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

const files = new Map<string, Uint8Array | string>();
let requests: string[] = [];
/** 64 KiB chunks the server produced for endless bodies, by path: shows the agent stopped reading. */
const pulled = new Map<string, number>();

/** A body that never ends and declares no length; counts what was pulled from it. */
function endless(path: string): ReadableStream<Uint8Array> {
  pulled.set(path, 0);
  return new ReadableStream({
    pull: (c) => {
      const n = (pulled.get(path) ?? 0) + 1;
      pulled.set(path, n);
      c.enqueue(new Uint8Array(64 * 1024));
      if (n > 100_000) c.close(); // 6 GiB: never reached by a bounded reader
    },
  });
}
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
      // Never ends and declares no length: only a streaming limit stops it.
      if (path === "/endless") return new Response(endless(path));
      if (path === "/endless-503") return new Response(endless(path), { status: 503 });
      if (path === "/endless-302") return new Response(endless(path), { status: 302, headers: { location: "/absent" } });
      if (path.startsWith("/sized/")) return new Response(files.get(path.slice(6)));
      if (path.startsWith("/chunked/")) {
        const bytes = files.get(path.slice(8));
        if (typeof bytes !== "object") return new Response("no", { status: 404 });
        let at = 0;
        return new Response(new ReadableStream({ pull: (c) => (at < bytes.length ? c.enqueue(bytes.slice(at, (at += 65536))) : c.close()) }));
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
    limits: { maxPackageBytes: 1 << 20, maxEntries: 100, maxExpandedBytes: 4 << 20 },
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

const errorOf = (p: Promise<unknown>) => agentErrorOf(p);

/** Bytes of regular files under `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s?.isFile()) total += s.size;
  }
  return total;
}

/** No half-written download or unpack is left behind in the package cache. */
async function expectCleanCache(): Promise<void> {
  const left = (await readdir(join(dataDir, "packages"))).filter((n) => n.startsWith(".download-") || n.startsWith(".tmp-"));
  expect(left).toEqual([]);
}

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
    const small = deps({ limits: { maxPackageBytes: 1024, maxEntries: 10, maxExpandedBytes: 4096 } });
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

  test("a 0.9 MB package that expands to 900 MiB is PACKAGE_TOO_LARGE after about a MiB; the cache stays clean", async () => {
    const bomb = tarGzBomb([{ path: "compose.yaml", data: enc(COMPOSE) }], "data/zeros.bin", 900);
    const url = serveFile("/bomb.tar.gz", bomb);
    // Generous limits: the expansion ratio is what stops it.
    const err = await errorOf(resolvePackage(input(url), deps({ limits: { maxPackageBytes: 8 << 20, maxExpandedBytes: 2 ** 31 } })));
    expect(err.code).toBe("PACKAGE_TOO_LARGE");
    expect(err.message).toContain("expands more than 200-fold");
    await expectCleanCache();
  });

  test("the unpacked size is bounded on its own (maxExpandedBytes), even at a low ratio", async () => {
    const gz = writeTarGz([
      { path: "compose.yaml", data: enc(COMPOSE) },
      { path: "blob.bin", data: crypto.getRandomValues(new Uint8Array(60_000)) },
    ]);
    const url = serveFile("/expanded.tar.gz", gz);
    const err = await errorOf(resolvePackage(input(url), deps({ limits: { maxPackageBytes: 1 << 20, maxExpandedBytes: 50_000 } })));
    expect(err.code).toBe("PACKAGE_TOO_LARGE");
    expect(err.message).toContain('"blob.bin"');
    await expectCleanCache();
  });

  test("a plain compose file over 1 MiB is refused before it is parsed", async () => {
    const url = serveFile("/huge-compose.yaml", `${COMPOSE}${"# padding\n".repeat(110_000)}`);
    const err = await errorOf(resolvePackage(input(url), deps({ limits: { maxPackageBytes: 4 << 20 } })));
    expect(err.code).toBe("PACKAGE_TOO_LARGE");
    expect(err.message).toContain("more than a compose file may have");
  });

  test("error and redirect bodies are never read: endless ones are cancelled", async () => {
    for (const path of ["/endless-503", "/endless-302"]) {
      const err = await errorOf(resolvePackage(input(`${base}${path}`), deps({ limits: { maxPackageBytes: 1 << 20 } })));
      expect(err.code).toBe("PACKAGE_DOWNLOAD_FAILED");
      expect(err.message).toContain(path === "/endless-503" ? "HTTP 503" : "HTTP 404");
      // The server fills socket buffers before the cancel lands; far below the 6 GiB on offer.
      expect(pulled.get(path)!).toBeLessThan(2000);
    }
    await expectCleanCache();
  });

  describe("the disk reserve is kept while writing (a fake disk: capacity minus what the data directory holds)", () => {
    const disk = (capacity: number) => async () => capacity - du(dataDir);

    test.each([
      ["declares its length", "/sized"],
      ["streams without a length", "/chunked"],
    ])("a download that would cross the reserve stops with DISK_SPACE_LOW (the server %s)", async (_, prefix) => {
      const blob = new Uint8Array(14 << 20);
      for (let at = 0; at < blob.length; at += 65536) crypto.getRandomValues(blob.subarray(at, at + 65536));
      serveFile("/incompressible.yaml", blob);
      const used = du(dataDir);
      // 20 MiB free, 8 MiB reserve: 14 MiB would leave 6. Checked up front against the declared
      // length, else every 4 MiB for the next 4 MiB.
      const err = await errorOf(resolvePackage(input(`${base}${prefix}/incompressible.yaml`), deps({ minFreeBytes: 8 << 20, freeSpace: disk(used + (20 << 20)), limits: { maxPackageBytes: 64 << 20 } })));
      expect(err.code).toBe("DISK_SPACE_LOW");
      await expectCleanCache();
      expect(du(dataDir)).toBe(used);
    });

    test("an unpack that would cross the reserve stops with DISK_SPACE_LOW before the file is written", async () => {
      let text = "";
      for (let i = 0; text.length < 14 << 20; i++) text += `setting.${i}=${(i * 7919) % 100003}\n`;
      const gz = writeTarGz([{ path: "compose.yaml", data: enc(COMPOSE) }, { path: "settings.ini", data: enc(text) }]);
      expect(gz.length).toBeLessThan(5 << 20); // the download fits; the 14 MiB unpacked do not
      const url = serveFile("/expands.tar.gz", gz);
      const used = du(dataDir);
      const err = await errorOf(resolvePackage(input(url), deps({ minFreeBytes: 8 << 20, freeSpace: disk(used + (20 << 20)), limits: { maxPackageBytes: 64 << 20, maxExpandedBytes: 64 << 20 } })));
      expect(err.code).toBe("DISK_SPACE_LOW");
      expect(err.message).toContain(`${text.length} more bytes are about to be written`);
      await expectCleanCache();
      expect(du(dataDir)).toBe(used);
    });
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
