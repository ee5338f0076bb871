/**
 * Onboarding and RFC 9421 verification (PROTOCOL.md §1-2), with the agent's
 * own signing code as the client: a signed request verifies, and every way of
 * getting it wrong gets the verdict the protocol names (400 digest, 401
 * signature, 403 certificate).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { signRequest, type Signer } from "../../../src/http-signatures/index.ts";
import { certificateBase64, certificateThumbprint, createSelfSignedCertificate } from "../../../src/identity/index.ts";
import { deploymentYaml, MANIFEST_TYPE, startIn, statusBody, tempDir, writeFile } from "./helpers.ts";

interface Device {
  der: Uint8Array;
  thumbprint: string;
  privateKey: CryptoKey;
}

async function makeDevice(name: string): Promise<Device> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const der = await createSelfSignedCertificate({ privateKey: pair.privateKey, spki, commonName: name });
  return { der, thumbprint: await certificateThumbprint(der), privateKey: pair.privateKey };
}

const encoder = new TextEncoder();

/** Sends a request signed as `keyId`; `tamper` may change it after signing. */
async function signed(
  device: Device,
  keyId: string,
  method: string,
  url: string,
  body?: unknown,
  opts: { created?: number; tamper?: (init: { headers: Headers; body?: Uint8Array }) => void } = {},
): Promise<Response> {
  const bytes = body === undefined ? undefined : encoder.encode(JSON.stringify(body));
  const headers = new Headers({ Accept: MANIFEST_TYPE });
  if (bytes) headers.set("Content-Type", "application/json");
  const signer: Signer = { keyId, alg: "ecdsa-p256-sha256", key: device.privateKey };
  const sig = await signRequest({ method, url, headers, body: bytes }, signer, { created: opts.created });
  for (const [k, v] of Object.entries(sig)) if (v !== undefined) headers.set(k, v);
  const init = { headers, body: bytes };
  opts.tamper?.(init);
  return fetch(url, { method, headers: init.headers, body: init.body as Uint8Array<ArrayBuffer> | undefined });
}

function onboardingBody(device: Device) {
  return { apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: certificateBase64(device.der) };
}

async function onboard(wfm: StartedDevWfm, device: Device): Promise<string> {
  const res = await signed(device, device.thumbprint, "POST", `${wfm.url}/api/v1/onboarding`, onboardingBody(device));
  expect(res.status).toBe(201);
  return ((await res.json()) as { clientId: string }).clientId;
}

let dir: string;
let cleanup: () => void;
let wfm: StartedDevWfm | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  writeFile(dir, "a.yaml", deploymentYaml("d1"));
});
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
  cleanup();
});

describe("onboarding", () => {
  test("a signed onboarding request gets a URL-safe clientId, the same one again for the same certificate", async () => {
    wfm = await startIn(dir);
    const device = await makeDevice("device-1");
    const clientId = await onboard(wfm, device);
    expect(clientId).toMatch(/^[A-Za-z0-9._~-]+$/);
    expect(await onboard(wfm, device)).toBe(clientId);
  });

  test("an unparseable certificate is 400 Invalid certificate", async () => {
    wfm = await startIn(dir);
    for (const certificate of ["bm90IGEgY2VydGlmaWNhdGU=", "%%%", ""]) {
      const res = await fetch(`${wfm.url}/api/v1/onboarding`, {
        method: "POST",
        body: JSON.stringify({ apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "Invalid certificate" });
    }
  });

  test("--approve manual: 403 Client rejected until approved, then 201", async () => {
    wfm = await startIn(dir, { approve: "manual" });
    const device = await makeDevice("device-2");
    const url = `${wfm.url}/api/v1/onboarding`;
    const first = await signed(device, device.thumbprint, "POST", url, onboardingBody(device));
    expect(first.status).toBe(403);
    expect(await first.json()).toEqual({ error: "Client rejected" });
    const [client] = (await (await fetch(`${wfm.url}/api/dev/clients`)).json()) as Array<{ clientId: string }>;
    expect((await fetch(`${wfm.url}/api/dev/clients/${client!.clientId}/approve`, { method: "POST" })).status).toBe(200);
    const second = await signed(device, device.thumbprint, "POST", url, onboardingBody(device));
    expect(second.status).toBe(201);
    expect((await fetch(`${wfm.url}/api/dev/clients/nobody/approve`, { method: "POST" })).status).toBe(404);
  });

  test("onboarded clients survive a restart", async () => {
    wfm = await startIn(dir);
    const device = await makeDevice("device-3");
    const clientId = await onboard(wfm, device);
    await wfm.stop();
    wfm = await startIn(dir);
    // Still known: unsigned requests naming it are refused, signed ones accepted.
    expect((await fetch(`${wfm.url}/api/v1/clients/${clientId}/deployments`)).status).toBe(401);
    expect((await signed(device, clientId, "GET", `${wfm.url}/api/v1/clients/${clientId}/deployments`)).status).toBe(200);
  });

  test("GET /api/v1/onboarding/certificate serves the root CA when configured, else 404", async () => {
    wfm = await startIn(dir);
    expect((await fetch(`${wfm.url}/api/v1/onboarding/certificate`)).status).toBe(404);
    await wfm.stop();
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    wfm = await startIn(dir, { caCertificate: encoder.encode(pem) });
    const res = await fetch(`${wfm.url}/api/v1/onboarding/certificate`);
    expect(res.status).toBe(200);
    const { certificate } = (await res.json()) as { certificate: string };
    expect(Buffer.from(certificate, "base64").toString()).toBe(pem);
  });
});

describe("signed requests", () => {
  test("a signed GET and a signed POST with a body verify", async () => {
    wfm = await startIn(dir);
    const device = await makeDevice("device-4");
    const clientId = await onboard(wfm, device);
    const manifest = await signed(device, clientId, "GET", `${wfm.url}/api/v1/clients/${clientId}/deployments`);
    expect(manifest.status).toBe(200);
    const report = await signed(device, clientId, "POST", `${wfm.url}/api/v1/clients/${clientId}/deployments/d1/status`, statusBody("d1", "installed"));
    expect(report.status).toBe(200);
    expect(wfm.reports().map((r) => r.clientId)).toEqual([clientId]);
  });

  test("tampering, staleness, missing signatures and foreign keys get 400/401/403", async () => {
    wfm = await startIn(dir);
    const device = await makeDevice("device-5");
    const other = await makeDevice("device-6");
    const clientId = await onboard(wfm, device);
    const otherId = await onboard(wfm, other);
    const statusUrl = `${wfm.url}/api/v1/clients/${clientId}/deployments/d1/status`;
    const body = statusBody("d1", "installed");

    // Body changed after signing, Content-Digest left as signed: the digest no longer matches.
    const changedBody = await signed(device, clientId, "POST", statusUrl, body, {
      tamper: (init) => {
        init.body = encoder.encode(JSON.stringify(statusBody("d1", "failed")));
      },
    });
    expect(changedBody.status).toBe(400);
    // Body and Content-Digest both changed: the signature no longer covers them.
    const changedBoth = await signed(device, clientId, "POST", statusUrl, body, {
      tamper: (init) => {
        init.body = encoder.encode(JSON.stringify(statusBody("d1", "failed")));
        init.headers.set("content-digest", `sha-256=:${Buffer.from(new Bun.CryptoHasher("sha256").update(init.body).digest()).toString("base64")}:`);
      },
    });
    expect(changedBoth.status).toBe(401);
    const noDigest = await signed(device, clientId, "POST", statusUrl, body, { tamper: (init) => init.headers.delete("content-digest") });
    expect(noDigest.status).toBe(400);
    const badSignature = await signed(device, clientId, "POST", statusUrl, body, {
      tamper: (init) => init.headers.set("signature", `sig1=:${Buffer.alloc(64, 1).toString("base64")}:`),
    });
    expect(badSignature.status).toBe(401);
    const stale = await signed(device, clientId, "POST", statusUrl, body, { created: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { detail: string }).detail).toContain("clock");
    // Another client's key for this client's path, and a key nobody onboarded.
    expect((await signed(other, otherId, "POST", statusUrl, body)).status).toBe(403);
    const stranger = await makeDevice("stranger");
    expect((await signed(stranger, "unknown-client", "POST", statusUrl, body)).status).toBe(403);
    // Signed with the right keyid but the wrong private key.
    expect((await signed(other, clientId, "POST", statusUrl, body)).status).toBe(401);
    // Unsigned, for a client that has a certificate.
    const unsigned = await fetch(statusUrl, { method: "POST", body: JSON.stringify(body) });
    expect(unsigned.status).toBe(401);

    expect(wfm.reports()).toEqual([]);
    expect((await signed(device, clientId, "POST", statusUrl, body)).status).toBe(200);
  });

  test("clients that never onboarded may be unsigned, unless --require-signatures", async () => {
    wfm = await startIn(dir);
    expect((await fetch(`${wfm.url}/api/v1/clients/configured-id/deployments`)).status).toBe(200);
    // An unsigned request that carries a wrong Content-Digest is still refused.
    const wrongDigest = await fetch(`${wfm.url}/api/v1/clients/configured-id/deployments/d1/status`, {
      method: "POST",
      headers: { "Content-Digest": `sha-256=:${Buffer.alloc(32).toString("base64")}:` },
      body: JSON.stringify(statusBody("d1", "installed")),
    });
    expect(wrongDigest.status).toBe(400);
    await wfm.stop();

    wfm = await startIn(dir, { requireSignatures: true });
    expect((await fetch(`${wfm.url}/api/v1/clients/configured-id/deployments`)).status).toBe(401);
    const device = await makeDevice("device-7");
    const unsignedOnboarding = await fetch(`${wfm.url}/api/v1/onboarding`, { method: "POST", body: JSON.stringify(onboardingBody(device)) });
    expect(unsignedOnboarding.status).toBe(401);
    const clientId = await onboard(wfm, device);
    expect((await signed(device, clientId, "GET", `${wfm.url}/api/v1/clients/${clientId}/deployments`)).status).toBe(200);
  });

  test("onboarding signed by a key other than the presented certificate's is refused", async () => {
    wfm = await startIn(dir);
    const device = await makeDevice("device-8");
    const impostor = await makeDevice("impostor");
    const res = await signed(impostor, device.thumbprint, "POST", `${wfm.url}/api/v1/onboarding`, onboardingBody(device));
    expect(res.status).toBe(401);
  });
});
