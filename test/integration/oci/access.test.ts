/**
 * Registry access against real registries: htpasswd (Basic), the token flow with a realm on another
 * host, mirrors, a CA per registry, plain http to loopback only when allowed, redirects to blob
 * storage under the URL policy. And the attack on secrecy: every failure path is run with a real
 * logger, and neither the password, nor its base64 form, nor an issued token may appear in any
 * error, cause, stack or log line, even when a hostile registry echoes our header back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AgentError } from "../../../src/errors/index.ts";
import { fetchComposeComponent } from "../../../src/oci/component.ts";
import type { Credentials } from "../../../src/oci/auth-file.ts";
import type { RegistryAccess } from "../../../src/oci/transport.ts";
import {
  type Pki,
  type RegistryProxy,
  type RunningRegistry,
  type TokenServer,
  describeWithRegistry,
  freePort,
  makePki,
  startRegistry,
  startRegistryProxy,
  startTlsServer,
  startTokenServer,
} from "../../support/registry.ts";
import { accessFor, capturedLogger, newPuller, pushApp, transportFor, cleanup } from "./fixture.ts";

const PASSWORD = "Tr0ub4dor&3-very-secret";
const ALICE: Credentials = { username: "alice", password: PASSWORD };
const BASIC = Buffer.from(`alice:${PASSWORD}`).toString("base64");

describeWithRegistry("OCI registry access", () => {
  let pki: Pki;
  let basic: RunningRegistry;
  let tokens: TokenServer;
  let tokenReg: RunningRegistry;
  let mirror: RunningRegistry;
  let origin: RunningRegistry;
  let basicProxy: RegistryProxy;
  const logs = capturedLogger();
  const errors: unknown[] = [];
  const creds = (hosts: string[], c: Credentials = ALICE) => (h: string) => (hosts.includes(h) ? c : undefined);
  const component = (host: string, repo: string, revision = "1.0.0") => ({ deploymentId: "dep-access", componentName: "app", repository: `oci://${host}/${repo}`, revision });
  /** Pulls and returns the error (kept for the secrecy check at the end). */
  async function failure(access: RegistryAccess, host: string, repo: string): Promise<AgentError> {
    const err = (await fetchComposeComponent(await newPuller(access, { log: logs.log }), component(host, repo)).catch((e) => e)) as AgentError;
    errors.push(err);
    if (!err?.code) throw new Error(`expected a failure, got ${JSON.stringify(err)}`);
    return err;
  }

  beforeAll(async () => {
    pki = await makePki();
    tokens = await startTokenServer(pki, { users: { alice: PASSWORD } });
    [basic, tokenReg, mirror, origin] = await Promise.all([
      startRegistry(pki, { kind: "htpasswd", users: { alice: PASSWORD } }),
      startRegistry(pki, { kind: "token", realm: tokens.realm, service: tokens.service, issuer: tokens.issuer }),
      startRegistry(pki),
      startRegistry(pki),
    ]);
    basicProxy = startRegistryProxy(pki, basic.url);
    const pushBasic = transportFor(accessFor(pki, [basic.host], { credentials: creds([basic.host]) }));
    await pushApp(pushBasic, basic.host, "private/app", "1.0.0");
    await pushApp(transportFor(accessFor(pki, [tokenReg.host, tokens.host], { credentials: creds([tokenReg.host]) })), tokenReg.host, "private/app", "1.0.0");
    const open = transportFor(accessFor(pki, [mirror.host, origin.host]));
    await pushApp(open, mirror.host, "org/app", "1.0.0");
    await pushApp(open, origin.host, "org/app", "1.0.0");
    await pushApp(open, origin.host, "org/only-origin", "1.0.0");
  });
  afterAll(cleanup);

  test("htpasswd registry: 401 without credentials, 401 with a wrong password, success with the right one", async () => {
    const anonymous = await failure(accessFor(pki, [basic.host]), basic.host, "private/app");
    expect(anonymous.code).toBe("REGISTRY_UNAUTHORIZED");
    expect(anonymous.message).toContain(`has none for ${basic.host}`);
    const wrong = await failure(accessFor(pki, [basic.host], { credentials: creds([basic.host], { username: "alice", password: `${PASSWORD}-wrong` }) }), basic.host, "private/app");
    expect(wrong.code).toBe("REGISTRY_UNAUTHORIZED");
    const ok = await fetchComposeComponent(await newPuller(accessFor(pki, [basic.host], { credentials: creds([basic.host]) }), { log: logs.log }), component(basic.host, "private/app"));
    expect(ok.pulled.source).toBe("registry");
  });

  test("token flow with the realm on another host: the token server is asked once per scope, the registry accepts its token", async () => {
    expect(tokens.host).not.toBe(tokenReg.host);
    tokens.requests.length = 0;
    const puller = await newPuller(accessFor(pki, [tokenReg.host, tokens.host], { credentials: creds([tokenReg.host]) }), { log: logs.log });
    await fetchComposeComponent(puller, component(tokenReg.host, "private/app"));
    await fetchComposeComponent(puller, component(tokenReg.host, "private/app"));
    expect(tokens.requests).toEqual([{ scopes: ["repository:private/app:pull"], user: "alice", authorized: true }]);

    const anonymous = await failure(accessFor(pki, [tokenReg.host, tokens.host]), tokenReg.host, "private/app");
    expect(anonymous.code).toBe("REGISTRY_UNAUTHORIZED");
    const wrong = await failure(accessFor(pki, [tokenReg.host, tokens.host], { credentials: creds([tokenReg.host], { username: "alice", password: "nope-nope" }) }), tokenReg.host, "private/app");
    expect(wrong.code).toBe("REGISTRY_UNAUTHORIZED");
    expect(wrong.message).toContain("refused the credentials");
  });

  test("a token realm over plain http is refused, on loopback unless allowed and elsewhere always", async () => {
    for (const realm of ["http://127.0.0.1:9/token", "http://tokens.example/token"]) {
      const fake = startTlsServer(pki, () => new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="${realm}",service="s"` } }));
      const err = await failure(accessFor(pki, [fake.host], { credentials: creds([fake.host]) }), fake.host, "org/app");
      expect(err.code).toBe("PACKAGE_INSECURE_URL");
      fake.stop();
    }
  });

  test("mirrors: tried in order before the origin; used when the origin is down; the origin when the mirror lacks the tag or is down", async () => {
    const deadHost = `127.0.0.1:${await freePort()}`;
    const viaMirror = await fetchComposeComponent(await newPuller(accessFor(pki, [mirror.host, deadHost], { mirrors: { [deadHost]: [`https://${deadHost}`, mirror.url] } }), { log: logs.log }), component(deadHost, "org/app"));
    expect(viaMirror.pulled).toMatchObject({ endpoint: mirror.url, mirror: true, source: "registry" });

    const lacking = await fetchComposeComponent(await newPuller(accessFor(pki, [mirror.host, origin.host], { mirrors: { [origin.host]: [mirror.url] } })), component(origin.host, "org/only-origin"));
    expect(lacking.pulled).toMatchObject({ endpoint: origin.url, mirror: false });

    const mirrorDown = await fetchComposeComponent(await newPuller(accessFor(pki, [origin.host], { mirrors: { [origin.host]: [`https://${deadHost}`] } })), component(origin.host, "org/app"));
    expect(mirrorDown.pulled.endpoint).toBe(origin.url);

    // Nothing anywhere: the most telling failure leads, the others follow it.
    const none = await failure(accessFor(pki, [mirror.host], { mirrors: { [deadHost]: [mirror.url] } }), deadHost, "org/only-origin");
    expect(none.code).toBe("ARTIFACT_NOT_FOUND");
    expect(none.message).toContain(`also tried https://${deadHost}: REGISTRY_UNREACHABLE`);
  });

  test("a CA per registry: without it TLS fails (REGISTRY_UNREACHABLE), a CA for another host does not help, with it the pull works", async () => {
    const none = await failure(accessFor(pki, []), origin.host, "org/app");
    expect(none.code).toBe("REGISTRY_UNREACHABLE");
    expect((await failure(accessFor(pki, [mirror.host]), origin.host, "org/app")).code).toBe("REGISTRY_UNREACHABLE");
    expect((await fetchComposeComponent(await newPuller(accessFor(pki, [origin.host])), component(origin.host, "org/app"))).pulled.endpoint).toBe(origin.url);
  });

  test("plain http: only to loopback and only when allowed (origin falls back from https; mirrors say http themselves)", async () => {
    const plain = startRegistryProxy(pki, origin.url, {}, { tls: false });
    const refused = await failure(accessFor(pki, [origin.host]), plain.host, "org/app");
    expect(refused.code).toBe("REGISTRY_UNREACHABLE");
    const allowed = await fetchComposeComponent(await newPuller(accessFor(pki, [], { allowInsecureHttp: true })), component(plain.host, "org/app"));
    expect(allowed.pulled.endpoint).toBe(plain.url);

    const httpMirror = { mirrors: { [origin.host]: [plain.url] } };
    const mirrorRefused = await failure(accessFor(pki, [], httpMirror), origin.host, "org/app");
    expect(mirrorRefused.code).toBe("PACKAGE_INSECURE_URL");
    expect((await fetchComposeComponent(await newPuller(accessFor(pki, [], { ...httpMirror, allowInsecureHttp: true })), component(origin.host, "org/app"))).pulled.endpoint).toBe(plain.url);

    const remote = await failure(accessFor(pki, [], { allowInsecureHttp: true, mirrors: { [origin.host]: ["http://192.0.2.1:5000"] } }), origin.host, "org/missing");
    expect(remote.code).toBe("PACKAGE_INSECURE_URL");
    expect(remote.message).toContain("not loopback");
    plain.stop();
  });

  test("redirects to blob storage: followed by hand, Authorization never sent to the other host, http hops refused, hops capped", async () => {
    const storage = startTlsServer(pki, async (req) => {
      const digest = new URL(req.url).pathname.split("/").pop()!;
      const r = await fetch(`${basic.url}/v2/private/app/blobs/${digest}`, { headers: { authorization: `Basic ${BASIC}` }, tls: { ca: pki.caPem } } as RequestInit);
      return new Response(await r.arrayBuffer());
    });
    let target = (path: string) => `${storage.url}/storage/${path.split("/").pop()}`;
    basicProxy.hooks.onResponse = (req, res, path) => (req.method === "GET" && path.includes("/blobs/") && res.status === 200 ? new Response(null, { status: 307, headers: { location: target(path) } }) : res);
    const access = accessFor(pki, [basicProxy.host, storage.host], { credentials: creds([basicProxy.host]) });
    try {
      const got = await fetchComposeComponent(await newPuller(access, { log: logs.log }), component(basicProxy.host, "private/app"));
      expect(got.pulled.endpoint).toBe(basicProxy.url);
      expect(storage.requests.length).toBe(1);
      expect(storage.requests[0]!.auth).toBeNull();
      expect(basicProxy.requests.some((r) => r.path.includes("/blobs/") && r.auth)).toBe(true);

      target = (path) => `http://127.0.0.1:${storage.host.split(":")[1]}/storage/${path.split("/").pop()}`;
      expect((await failure(access, basicProxy.host, "private/app")).code).toBe("PACKAGE_INSECURE_URL");
      // Storage that answers with its own challenge gets no credentials, and its realm no request.
      const realm = startTlsServer(pki, () => new Response("{}"));
      const grabby = startTlsServer(pki, () => new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="${realm.url}/token",service="s"` } }));
      target = (path) => `${grabby.url}/storage/${path.split("/").pop()}`;
      const challenged = await failure({ ...access, cas: { ...access.cas, [grabby.host]: pki.caPem, [realm.host]: pki.caPem } }, basicProxy.host, "private/app");
      expect(challenged.code).toBe("REGISTRY_UNAUTHORIZED");
      expect(grabby.requests.map((r) => r.auth)).toEqual([null]);
      expect(realm.requests).toEqual([]);
      target = (path) => `${basicProxy.url}${path}`;
      const loop = await failure(access, basicProxy.host, "private/app");
      expect(loop.code).toBe("REGISTRY_UNREACHABLE");
      expect(loop.message).toContain("more than 5 redirects");
    } finally {
      basicProxy.hooks.onResponse = undefined;
    }
  });

  test("a hostile registry echoing our Authorization header in its errors does not get it into a message", async () => {
    const echo = startTlsServer(pki, (req) => {
      const auth = req.headers.get("authorization");
      if (!auth) return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="echo"' } });
      return Response.json({ errors: [{ code: "DENIED", message: `you sent ${auth} (${Buffer.from(auth.slice(6), "base64").toString()})` }] }, { status: req.url.includes("/manifests/") ? 500 : 403 });
    });
    const err = await failure(accessFor(pki, [echo.host], { credentials: creds([echo.host]) }), echo.host, "org/app");
    expect(err.code).toBe("REGISTRY_UNREACHABLE");
    expect(err.message).toContain("DENIED you sent [redacted]");
    echo.stop();
  });

  test("no password, base64 credential or token in any error, cause, stack or log line of the tests above", () => {
    expect(errors.length).toBeGreaterThan(10);
    expect(tokens.issued.length).toBeGreaterThan(0);
    const secrets = [PASSWORD, BASIC, ...tokens.issued, ...tokens.issued.map((t) => t.split(".")[2]!)];
    const texts = [...logs.lines];
    for (const e of errors) {
      let x: unknown = e;
      while (x instanceof Error) {
        texts.push(x.message, x.stack ?? "", JSON.stringify(x));
        x = x.cause;
      }
    }
    const all = texts.join("\n");
    expect(all.length).toBeGreaterThan(1000);
    for (const s of secrets) expect(all.includes(s)).toBe(false);
  });
});
