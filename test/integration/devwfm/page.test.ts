/**
 * The status page: what it shows, and that nothing a device or a file name
 * says can inject markup into it.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { StartedDevWfm } from "../../../src/devwfm/index.ts";
import { deploymentYaml, postStatus, startIn, statusBody, tempDir, writeFile } from "./helpers.ts";

let dir: string;
let cleanup: () => void;
let wfm: StartedDevWfm | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
  cleanup();
});

const EVIL = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

test("shows version, files, clients and their latest states, and refreshes itself", async () => {
  writeFile(dir, "hello.yaml", deploymentYaml("d1"));
  wfm = await startIn(dir);
  await postStatus(wfm, "dev-1", "d1", statusBody("d1", "installing"));
  await postStatus(wfm, "dev-1", "d1", statusBody("d1", "installed"));
  const res = await fetch(`${wfm.url}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  const html = await res.text();
  expect(html).toContain('<meta http-equiv="refresh" content="2">');
  expect(html).toContain("manifestVersion <b>1</b>");
  expect(html).toContain("hello.yaml");
  expect(html).toContain("dev-1");
  expect(html).toContain('class="state installed">installed<');
  // No external assets.
  expect(html).not.toMatch(/<(script|link)\b/i);
  expect(html).not.toMatch(/src=["']?https?:/i);
});

test("escapes everything it prints: report bodies, ids, file names, skip reasons", async () => {
  writeFile(dir, `${EVIL.replaceAll("/", "_")}.yaml`, `key: "${EVIL.replaceAll('"', "'")}"\n: [`);
  wfm = await startIn(dir);
  const evilReport = statusBody("d1", "failed", {
    status: { state: "failed", error: { code: EVIL, source: EVIL, message: EVIL } },
    components: [{ name: EVIL, state: "failed", error: { code: EVIL, message: EVIL } }],
    adoptedManifestVersion: EVIL,
  });
  expect((await postStatus(wfm, "dev-1", "d1", evilReport)).status).toBe(200);
  expect((await postStatus(wfm, encodeURIComponent(EVIL), "d1", evilReport)).status).toBe(200);
  const html = await (await fetch(`${wfm.url}/`)).text();
  expect(html).not.toContain("<script>");
  expect(html).not.toContain("<img");
  expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
});

test("pending approvals are listed with an approve button that works", async () => {
  const { createSelfSignedCertificate, certificateBase64 } = await import("../../../src/identity/index.ts");
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const der = await createSelfSignedCertificate({ privateKey: pair.privateKey, spki, commonName: "pending-device" });
  wfm = await startIn(dir, { approve: "manual" });
  const onboarding = { apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: certificateBase64(der) };
  const first = await fetch(`${wfm.url}/api/v1/onboarding`, { method: "POST", body: JSON.stringify(onboarding) });
  expect(first.status).toBe(403);
  const clients = (await (await fetch(`${wfm.url}/api/dev/clients`)).json()) as Array<{ clientId: string; approved: boolean }>;
  const clientId = clients[0]!.clientId;
  const html = await (await fetch(`${wfm.url}/`)).text();
  expect(html).toContain(`action="/api/dev/clients/${clientId}/approve"`);
  // The page's form: a browser posts and is sent back to the page.
  const approved = await fetch(`${wfm.url}/api/dev/clients/${clientId}/approve`, { method: "POST", headers: { Accept: "text/html" }, redirect: "manual" });
  expect(approved.status).toBe(303);
  expect(approved.headers.get("location")).toBe("/");
  const after = await (await fetch(`${wfm.url}/`)).text();
  expect(after).not.toContain("/approve");
});
