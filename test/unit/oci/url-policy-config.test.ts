import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import type { AgentError } from "../../../src/errors/index.ts";
import { RegistriesConfigSchema, loadRegistryAccess } from "../../../src/oci/config.ts";
import { RegistryTransport } from "../../../src/oci/transport.ts";
import { checkRegistryUrl, isLoopbackHost } from "../../../src/oci/url-policy.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "margo-oci-config-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const code = (fn: () => unknown) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return (err as AgentError).code;
  }
};

test("URL policy: https anywhere; http only to loopback and only when allowed; nothing else", () => {
  expect(code(() => checkRegistryUrl(new URL("https://r.example/v2/"), false, "t"))).toBe("ok");
  expect(code(() => checkRegistryUrl(new URL("http://127.0.0.1:5000/v2/"), false, "t"))).toBe("PACKAGE_INSECURE_URL");
  expect(code(() => checkRegistryUrl(new URL("http://127.0.0.1:5000/v2/"), true, "t"))).toBe("ok");
  expect(code(() => checkRegistryUrl(new URL("http://[::1]:5000/v2/"), true, "t"))).toBe("ok");
  expect(code(() => checkRegistryUrl(new URL("http://10.0.0.1:5000/v2/"), true, "t"))).toBe("PACKAGE_INSECURE_URL");
  expect(code(() => checkRegistryUrl(new URL("http://127.0.0.1.evil.example/"), true, "t"))).toBe("PACKAGE_INSECURE_URL");
  expect(code(() => checkRegistryUrl(new URL("file:///etc/passwd"), true, "t"))).toBe("PACKAGE_INSECURE_URL");
  expect(code(() => checkRegistryUrl(new URL("https://u:p@r.example/"), true, "t"))).toBe("REGISTRY_UNREACHABLE");
  expect([isLoopbackHost("localhost"), isLoopbackHost("127.8.9.10"), isLoopbackHost("[::1]"), isLoopbackHost("128.0.0.1"), isLoopbackHost("localhost.example")]).toEqual([true, true, true, false, false]);
});

test("registries config: defaults, valid mirrors, and refusals naming the key", () => {
  expect(v.parse(RegistriesConfigSchema, undefined)).toEqual({ authFile: null, mirrors: {}, caFiles: {} });
  expect(v.parse(RegistriesConfigSchema, { mirrors: { "registry.example.com": ["https://mirror.plant.local:5000"] } }).mirrors).toEqual({ "registry.example.com": ["https://mirror.plant.local:5000"] });
  for (const bad of [{ mirrors: { "r.example": ["https://m.example/path"] } }, { mirrors: { "r.example": ["https://u:p@m.example"] } }, { mirrors: { "bad host!": ["https://m.example"] } }, { other: 1 }]) {
    expect(v.safeParse(RegistriesConfigSchema, bad).success).toBe(false);
  }
});

test("loadRegistryAccess reads CA and auth files once, refuses an http mirror that is not loopback", async () => {
  const ca = join(dir, "ca.pem");
  await writeFile(ca, "-----BEGIN CERTIFICATE-----\n");
  const auth = join(dir, "auth.json");
  await writeFile(auth, JSON.stringify({ auths: { "r.example": { auth: Buffer.from("u:p").toString("base64") } } }));
  await chmod(auth, 0o600);
  const access = await loadRegistryAccess({ authFile: auth, mirrors: { "R.example": ["http://127.0.0.1:5000"] }, caFiles: { "r.example": ca } }, true);
  expect(access.credentials("r.example")).toEqual({ username: "u", password: "p" });
  expect(access.cas["r.example"]).toContain("BEGIN CERTIFICATE");
  const t = new RegistryTransport(fetch, access, { requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxRedirects: 5 });
  expect(t.endpointsFor("r.example").map((e) => [e.base.origin, e.mirror])).toEqual([["http://127.0.0.1:5000", true], ["https://r.example", false]]);
  const err = (await loadRegistryAccess({ authFile: null, mirrors: { "r.example": ["http://mirror.example:5000"] }, caFiles: {} }, true).catch((e) => e)) as AgentError;
  expect(err.code).toBe("CONFIG_INVALID");
  expect(((await loadRegistryAccess({ authFile: null, mirrors: {}, caFiles: { r: join(dir, "missing.pem") } }, false).catch((e) => e)) as AgentError).message).toContain("registries.caFiles.r");
});
