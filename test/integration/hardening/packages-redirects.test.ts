/**
 * Package redirects against real servers: an https package server on loopback (real TLS, its
 * self-signed certificate made with openssl and trusted through wfm.caFile, as a device would
 * trust its WFM's CA) and plain http servers that record every request they receive. The
 * resolver is the agent's own (packageResolver over the Bun platform), so the test covers the
 * fetch wiring too: each redirect hop must be judged before it is requested.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { packageResolver } from "../../../src/bootstrap/resolve-components.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { AgentError } from "../../../src/errors/index.ts";

const COMPOSE = "services:\n  web:\n    image: localhost/margo-test/busybox:1\n";
const openssl = Bun.which("openssl");

interface Hit {
  path: string;
  authorization: string | null;
}

/** A server that records what it was asked and answers from `route`. */
function recordingServer(route: (path: string, self: string) => Response, tls?: { cert: string; key: string }) {
  const hits: Hit[] = [];
  let self = "";
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    fetch(req) {
      const path = new URL(req.url).pathname;
      hits.push({ path, authorization: req.headers.get("authorization") });
      return route(path, self);
    },
  });
  self = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  return { url: self, hits, paths: () => hits.map((h) => h.path), stop: () => server.stop(true) };
}

const redirect = (location: string, status = 302) => new Response("moved", { status, headers: { location } });

describe.skipIf(!openssl)("package redirects are checked hop by hop", () => {
  let dir: string;
  let caFile: string;
  let plain: ReturnType<typeof recordingServer>;
  let other: ReturnType<typeof recordingServer>;
  let secure: ReturnType<typeof recordingServer>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "redirects-"));
    const key = join(dir, "key.pem");
    caFile = join(dir, "cert.pem");
    const made = Bun.spawnSync(
      [openssl!, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", caFile, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      { stderr: "pipe" },
    );
    if (made.exitCode !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
    const tls = { cert: readFileSync(caFile, "utf8"), key: readFileSync(key, "utf8") };

    plain = recordingServer((path) => (path === "/pkg/compose.yaml" ? new Response(COMPOSE) : new Response("no", { status: 404 })));
    // Another https origin (same host, another port): credentials must not follow a redirect there.
    other = recordingServer((path) => (path === "/pkg/compose.yaml" ? new Response(COMPOSE) : new Response("no", { status: 404 })), tls);
    secure = recordingServer((path) => {
      if (path === "/pkg/compose.yaml") return new Response(COMPOSE);
      if (path === "/to-http") return redirect(`${plain.url}/pkg/compose.yaml`);
      if (path === "/to-file") return redirect("file:///etc/passwd", 307);
      if (path === "/loop/a") return redirect("/loop/b", 301);
      if (path === "/loop/b") return redirect("/loop/a", 308);
      const chain = /^\/chain\/(\d+)$/.exec(path);
      if (chain) return redirect(Number(chain[1]) === 0 ? "/pkg/compose.yaml" : `/chain/${Number(chain[1]) - 1}`);
      if (path === "/relative/start/here") return redirect("../../pkg/compose.yaml", 303);
      if (path === "/cred/cross") return redirect(`${other.url}/pkg/compose.yaml`);
      if (path === "/cred/same") return redirect("/pkg/compose.yaml", 307);
      if (path === "/no-location") return new Response("moved", { status: 302 });
      return new Response("no", { status: 404 });
    }, tls);
  });

  afterAll(() => {
    for (const s of [plain, other, secure]) s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const resolve = async (packageLocation: string, allowInsecureHttp = false) => {
    const config = loadConfig({
      sets: ["wfm.url=https://wfm.invalid", `wfm.caFile=${caFile}`, `dataDir=${join(dir, "data")}`, `packages.allowInsecureHttp=${allowInsecureHttp}`, "packages.reserve=1MiB"],
    });
    const deployment = { id: "d", name: "d", profileType: "compose" as const, env: {}, components: [] };
    const component = { name: "web", packageLocation, timeoutMs: 1000, wait: false };
    return packageResolver(config, bunPlatform, { engineStorage: [] })(deployment, component, new AbortController().signal);
  };

  const failure = async (packageLocation: string, allowInsecureHttp = false): Promise<AgentError> => {
    const err = await resolve(packageLocation, allowInsecureHttp).then(
      () => new Error("resolved"),
      (e: unknown) => e,
    );
    if (!(err instanceof AgentError)) throw err;
    return err;
  };

  test("the TLS setup itself works: a direct https package resolves", async () => {
    const r = await resolve(`${secure.url}/pkg/compose.yaml`);
    expect(readFileSync(r.composeFile, "utf8")).toBe(COMPOSE);
  });

  test("https answering 302 to plain http: PACKAGE_INSECURE_URL, and the http server is never asked", async () => {
    plain.hits.length = 0;
    const err = await failure(`${secure.url}/to-http`);
    expect(err.code).toBe("PACKAGE_INSECURE_URL");
    expect(err.message).toContain(`${plain.url}/pkg/compose.yaml`);
    expect(plain.hits).toEqual([]);
    // With insecure http allowed, the same redirect is followed (the policy, not the redirect, decides).
    await resolve(`${secure.url}/to-http`, true);
    expect(plain.paths()).toEqual(["/pkg/compose.yaml"]);
  });

  test("a redirect to another scheme is refused before anything is read", async () => {
    const err = await failure(`${secure.url}/to-file`);
    expect(err.code).toBe("PACKAGE_DOWNLOAD_FAILED");
    expect(err.message).toContain('unsupported scheme "file:"');
  });

  test("a redirect loop is refused after one round", async () => {
    secure.hits.length = 0;
    const err = await failure(`${secure.url}/loop/a`);
    expect(err.code).toBe("PACKAGE_DOWNLOAD_FAILED");
    expect(err.message).toContain("redirect loop");
    expect(secure.paths()).toEqual(["/loop/a", "/loop/b"]);
  });

  test("five redirects are followed; a sixth is refused without requesting its target", async () => {
    secure.hits.length = 0;
    await resolve(`${secure.url}/chain/4`);
    expect(secure.paths()).toEqual(["/chain/4", "/chain/3", "/chain/2", "/chain/1", "/chain/0", "/pkg/compose.yaml"]);
    secure.hits.length = 0;
    const err = await failure(`${secure.url}/chain/5`);
    expect(err.code).toBe("PACKAGE_DOWNLOAD_FAILED");
    expect(err.message).toContain("more than 5 redirects");
    expect(secure.paths()).toEqual(["/chain/5", "/chain/4", "/chain/3", "/chain/2", "/chain/1", "/chain/0"]);
  });

  test("a relative Location is resolved against the URL that answered it", async () => {
    secure.hits.length = 0;
    const r = await resolve(`${secure.url}/relative/start/here`);
    expect(readFileSync(r.composeFile, "utf8")).toBe(COMPOSE);
    expect(secure.paths()).toEqual(["/relative/start/here", "/pkg/compose.yaml"]);
  });

  test("credentials in the package URL go to its own origin only", async () => {
    const withCreds = secure.url.replace("https://", "https://vendor:s3cret@");
    const basic = `Basic ${btoa("vendor:s3cret")}`;
    secure.hits.length = 0;
    other.hits.length = 0;
    await resolve(`${withCreds}/cred/cross`);
    expect(secure.hits).toEqual([{ path: "/cred/cross", authorization: basic }]);
    expect(other.hits).toEqual([{ path: "/pkg/compose.yaml", authorization: null }]);
    secure.hits.length = 0;
    await resolve(`${withCreds}/cred/same`);
    expect(secure.hits).toEqual([
      { path: "/cred/same", authorization: basic },
      { path: "/pkg/compose.yaml", authorization: basic },
    ]);
  });

  test("a redirect without a Location is a download failure", async () => {
    const err = await failure(`${secure.url}/no-location`);
    expect(err.code).toBe("PACKAGE_DOWNLOAD_FAILED");
    expect(err.message).toContain("without a Location");
  });
});
