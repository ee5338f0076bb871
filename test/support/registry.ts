/**
 * Real OCI registries for tests: Debian's `docker-registry` (CNCF distribution 2.8) started on
 * loopback with its own config file (storage in a temp dir, a free port, TLS with a CA made here
 * by openssl, htpasswd or token auth), a small token server for the Bearer flow (a realm on
 * another host name and port, tokens signed with a key whose certificate the registry trusts),
 * and a TLS proxy in front of a registry for the hostile cases a real registry never produces
 * (a tampered blob, a registry that drips, redirects to blob storage).
 *
 * `describeWithRegistry` skips with a clear message when the binary is missing outside CI, and
 * fails under CI=true (.ci/run installs docker-registry, apache2-utils and openssl).
 */
import { describe, test } from "bun:test";
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REGISTRY_BINARY = ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"].find((p) => existsSync(p)) ?? Bun.which("docker-registry");
const inCI = process.env.CI === "true";

/** describe() for suites that need the real registry. */
export function describeWithRegistry(title: string, fn: () => void): void {
  const missing = !REGISTRY_BINARY ? "docker-registry is not installed (apt-get install docker-registry apache2-utils)" : !Bun.which("openssl") ? "openssl is not installed" : undefined;
  if (!missing) {
    describe(title, fn);
    return;
  }
  if (inCI) {
    describe(title, () => {
      test("docker-registry is available (CI=true requires it)", () => {
        throw new Error(`${title}: ${missing}; .ci/run must install it`);
      });
    });
    return;
  }
  console.warn(`[skip] ${title}: ${missing}`);
  describe.skip(`${title} (skipped: ${missing})`, fn);
}

const cleanups: (() => Promise<void>)[] = [];
/** Stops everything this module started and removes its files (call in afterAll). */
export async function stopAllRegistries(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}

export interface Pki {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** Token signing: an EC P-256 key and its self-signed certificate (the registry's rootcertbundle). */
  tokenKeyFile: string;
  tokenCertFile: string;
}

async function sh(argv: string[], cwd?: string): Promise<string> {
  const p = Bun.spawn(argv, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code}): ${err}`);
  return out;
}

/** A CA, a server certificate for 127.0.0.1 and localhost, and a token signing key. */
export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), "margo-registry-pki-"));
  const ossl = (...a: string[]) => sh(["openssl", ...a], dir);
  await ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=margo test registry CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  await ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  await writeFile(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
  await ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf");
  await ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "token.key", "-out", "token.pem", "-days", "2", "-subj", "/CN=margo test token issuer");
  const read = (f: string) => readFile(join(dir, f), "utf8");
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    caPem: await read("ca.pem"),
    certFile: join(dir, "server.pem"),
    keyFile: join(dir, "server.key"),
    certPem: await read("server.pem"),
    keyPem: await read("server.key"),
    tokenKeyFile: join(dir, "token.key"),
    tokenCertFile: join(dir, "token.pem"),
  };
}

export async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export type RegistryAuth =
  | { kind: "none" }
  | { kind: "htpasswd"; users: Record<string, string> }
  | { kind: "token"; realm: string; service: string; issuer: string };

export interface RunningRegistry {
  /** https://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port>: the registry part of oci:// references. */
  host: string;
  port: number;
  storageDir: string;
  logFile: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and storage (after stop). */
  start(): Promise<void>;
}


/** Starts one registry; a port taken between probing and binding (another process) is retried on a new one. */
export async function startRegistry(pki: Pki, auth: RegistryAuth = { kind: "none" }): Promise<RunningRegistry> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(pki, auth);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes("address already in use")) throw err;
    }
  }
}

async function startRegistryOnce(pki: Pki, auth: RegistryAuth): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "margo-registry-"));
  const storageDir = join(dir, "storage");
  await mkdir(storageDir);
  const port = await freePort();
  let authYaml = "";
  if (auth.kind === "htpasswd") {
    const lines: string[] = [];
    for (const [u, p] of Object.entries(auth.users)) lines.push((await sh(["htpasswd", "-Bbn", u, p])).trim());
    await writeFile(join(dir, "htpasswd"), `${lines.join("\n")}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: margo-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth.kind === "token") {
    authYaml = `auth:\n  token:\n    realm: ${auth.realm}\n    service: ${auth.service}\n    issuer: ${auth.issuer}\n    rootcertbundle: ${pki.tokenCertFile}\n`;
  }
  const config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString("hex")}
  tls:
    certificate: ${pki.certFile}
    key: ${pki.keyFile}
${authYaml}`;
  const configFile = join(dir, "config.yml");
  await writeFile(configFile, config);
  const logFile = join(dir, "registry.log");
  const url = `https://127.0.0.1:${port}`;
  let proc: ReturnType<typeof Bun.spawn> | undefined;

  const start = async () => {
    proc = Bun.spawn([REGISTRY_BINARY!, "serve", configFile], { stdout: Bun.file(logFile), stderr: Bun.file(logFile) });
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${await readFile(logFile, "utf8").catch(() => "")}`);
      try {
        const r = await fetch(`${url}/v2/`, { tls: { ca: pki.caPem } } as RequestInit);
        await r.body?.cancel();
        if (r.status === 200 || r.status === 401) return;
      } catch {
        // not up yet
      }
      await Bun.sleep(50);
    }
    throw new Error(`docker-registry did not answer on ${url}: ${await readFile(logFile, "utf8").catch(() => "")}`);
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGTERM");
    await proc.exited;
  };
  try {
    await start();
  } catch (err) {
    await stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  cleanups.push(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { url, host: `127.0.0.1:${port}`, port, storageDir, logFile, stop, start };
}

export interface TokenServer {
  /** https://localhost:<port>/token: another host name and port than the registry's. */
  realm: string;
  host: string;
  service: string;
  issuer: string;
  /** Every token request: the scopes asked for and whether credentials came with it. */
  requests: { scopes: string[]; user: string | null; authorized: boolean }[];
  /** Every token handed out (tests check none reaches a log line or an error). */
  issued: string[];
  stop(): void;
}

/**
 * The distribution token flow's auth server: Basic credentials in, a JWT (ES256, `kid` = the
 * libtrust key id distribution derives from the certificate) out. Known users get every action
 * they ask for; anonymous callers get the `anonymous` actions (none by default).
 */
export async function startTokenServer(pki: Pki, opts: { users: Record<string, string>; anonymous?: string[]; service?: string }): Promise<TokenServer> {
  const service = opts.service ?? "margo-test-registry";
  const issuer = "margo-test-issuer";
  const key = createPrivateKey(await readFile(pki.tokenKeyFile, "utf8"));
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  const kid = libtrustKeyId(spki);
  const requests: TokenServer["requests"] = [];
  const issued: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.certPem, key: pki.keyPem },
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== "/token") return new Response("no", { status: 404 });
      const scopes = url.searchParams.getAll("scope");
      const header = req.headers.get("authorization");
      let user: string | null = null;
      if (header?.startsWith("Basic ")) {
        const [u, ...rest] = Buffer.from(header.slice(6), "base64").toString().split(":");
        if (opts.users[u!] === undefined || opts.users[u!] !== rest.join(":")) {
          requests.push({ scopes, user: u ?? null, authorized: false });
          return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }, { status: 401 });
        }
        user = u!;
      }
      requests.push({ scopes, user, authorized: true });
      const access = scopes.flatMap((s) => {
        const [type, name, actions] = s.split(":");
        const wanted = (actions ?? "").split(",");
        const granted = user ? wanted : wanted.filter((a) => (opts.anonymous ?? []).includes(a));
        return type && name ? [{ type, name, actions: granted }] : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuer, sub: user ?? "", aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
      const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");
      const input = `${b64({ typ: "JWT", alg: "ES256", kid })}.${b64(claims)}`;
      const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }).toString("base64url");
      const token = `${input}.${sig}`;
      issued.push(token);
      return Response.json({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
    },
  });
  const host = `localhost:${server.port}`;
  cleanups.push(async () => void server.stop(true));
  return { realm: `https://${host}/token`, host, service, issuer, requests, issued, stop: () => void server.stop(true) };
}

/** libtrust's key id: base32 of the first 240 bits of sha256(DER SPKI), in 12 groups of 4. */
function libtrustKeyId(spkiDer: Uint8Array): string {
  const hash = createHash("sha256").update(spkiDer).digest().subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(":");
}

export interface ProxyHooks {
  /** Rewrites the registry's answer (or answers instead of it). Default: passed through. */
  onResponse?: (req: Request, upstream: Response, path: string) => Response | Promise<Response>;
}

export interface RegistryProxy {
  url: string;
  host: string;
  port: number;
  /** Method and path of every request, and whether it carried Authorization. */
  requests: { method: string; path: string; auth: boolean }[];
  hooks: ProxyHooks;
  stop(): void;
}

/** A proxy in front of `target` (a registry), for answers no real registry gives; TLS unless `tls: false`. */
export function startRegistryProxy(pki: Pki, target: string, hooks: ProxyHooks = {}, opts: { tls?: boolean } = {}): RegistryProxy {
  const requests: RegistryProxy["requests"] = [];
  const proxy: RegistryProxy = { url: "", host: "", port: 0, requests, hooks, stop: () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: opts.tls === false ? undefined : { cert: pki.certPem, key: pki.keyPem },
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      requests.push({ method: req.method, path: url.pathname, auth: req.headers.has("authorization") });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
        redirect: "manual",
        tls: { ca: pki.caPem },
        decompress: false,
      } as RequestInit);
      // Location headers point at the registry itself: keep the client on the proxy.
      const out = new Headers(upstream.headers);
      const location = out.get("location");
      if (location?.startsWith(target)) out.set("location", `${proxy.url}${location.slice(target.length)}`);
      const passed = new Response(req.method === "HEAD" ? null : upstream.body, { status: upstream.status, headers: out });
      return proxy.hooks.onResponse ? proxy.hooks.onResponse(req, passed, url.pathname) : passed;
    },
  });
  proxy.port = server.port!;
  proxy.host = `127.0.0.1:${server.port}`;
  proxy.url = `${opts.tls === false ? "http" : "https"}://${proxy.host}`;
  proxy.stop = () => void server.stop(true);
  cleanups.push(async () => void server.stop(true));
  return proxy;
}

/** A plain TLS server on loopback answering with `handler`, recording requests (blob storage, fakes). */
export function startTlsServer(pki: Pki, handler: (req: Request) => Response | Promise<Response>): { url: string; host: string; requests: { path: string; auth: string | null }[]; stop(): void } {
  const requests: { path: string; auth: string | null }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: pki.certPem, key: pki.keyPem },
    idleTimeout: 0,
    fetch(req) {
      requests.push({ path: new URL(req.url).pathname, auth: req.headers.get("authorization") });
      return handler(req);
    },
  });
  cleanups.push(async () => void server.stop(true));
  return { url: `https://127.0.0.1:${server.port}`, host: `127.0.0.1:${server.port}`, requests, stop: () => void server.stop(true) };
}

/** A ReadableStream that sends `bytes` one small piece at a time, `everyMs` apart. */
export function drip(bytes: Uint8Array, everyMs: number, pieceBytes = 1): ReadableStream<Uint8Array> {
  let at = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream({
    pull(controller) {
      return new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (at >= bytes.length) controller.close();
          else {
            controller.enqueue(bytes.slice(at, at + pieceBytes));
            at += pieceBytes;
          }
          resolve();
        }, everyMs);
      });
    },
    cancel() {
      clearTimeout(timer);
    },
  });
}
