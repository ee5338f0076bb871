/**
 * Run under Deno by deno.test.ts: the protocol, planning and signing logic must
 * work on another runtime (the design card's portability rule). Prints one JSON
 * line of results; any exception fails the run.
 */
import { readTarGz, writeTarGz } from "../../../src/archive/index.ts";
import { parseDeployment } from "../../../src/deployment/parse.ts";
import { contentDigest, signRequest, verifyRequest } from "../../../src/http-signatures/index.ts";
import { retryTiming } from "./deno-imports.ts";
import { sha256Digest, verifyDigest } from "../../../src/protocol/digest.ts";
import { parseManifest } from "../../../src/protocol/manifest.ts";
import { buildStatusManifest } from "../../../src/protocol/status-manifest.ts";
import { planReconcile } from "../../../src/reconcile/plan.ts";
import { communicationAllowed } from "../../../src/schedule/windows.ts";

const enc = new TextEncoder();
const yaml = `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata: {annotations: {id: d1}, name: n}
spec:
  deploymentProfile: {type: compose, components: [{name: web, properties: {packageLocation: "https://x/c.yaml", timeout: 5m0s}}]}
  parameters: {p: {value: 1, targets: [{pointer: P, components: [web]}]}}
`;
const manifest = parseManifest(enc.encode(`{"manifestVersion":18446744073709551615,"bundle":null,"deployments":[]}`));
const dep = parseDeployment(yaml, "t");
const tgz = writeTarGz([{ path: "a.yaml", data: enc.encode(yaml) }]);
const entries = readTarGz(tgz, { maxEntries: 10, maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 20 });
verifyDigest(entries[0]!.data, sha256Digest(yaml), "bundle entry");
const steps = planReconcile({ desired: [{ deploymentId: "d1", digest: sha256Digest(yaml) }], applied: [] });
const body = buildStatusManifest({ deploymentId: "d1", manifestVersion: manifest.manifestVersion, components: [{ name: "web", state: "installed" }] });

const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
const headers = new Headers({ "content-type": "application/json" });
const signed = await signRequest({ method: "POST", url: "https://wfm.example/api/v1/x", headers, body: enc.encode(body) }, { keyId: "dev-1", alg: "ecdsa-p256-sha256", key: keys.privateKey });
for (const [k, v] of Object.entries(signed)) headers.set(k, v);
const verdict = await verifyRequest({ method: "POST", url: "https://wfm.example/api/v1/x", headers, body: enc.encode(body) }, async () => ({ key: keys.publicKey, alg: "ecdsa-p256-sha256" }));

console.log(JSON.stringify({
  manifestVersion: manifest.manifestVersion.toString(),
  env: dep.env,
  steps: steps.map((s) => s.action),
  exactBody: body.includes('"adoptedManifestVersion":18446744073709551615'),
  digest: await contentDigest(enc.encode("{}")),
  signature: verdict.ok,
  window: communicationAllowed({ downtime: [{ days: [], start: "00:00", end: "00:00" }], allowed: [], timeZone: "Europe/Berlin" }, Date.now()).allowed,
  backoff: retryTiming(),
}));
