/**
 * What a broken or hostile WFM cannot do: make the agent apply unverified
 * content, roll back, fetch from elsewhere, or unpack outside its limits.
 * Every case: nothing applied, running workloads untouched, failure logged
 * with its code, and the agent keeps going.
 *
 * Invariants held here (docs/architecture.md): INV-SYNC-3.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { writeTar, writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { makeAgent, drained, type Harness } from "../../support/agent-harness.ts";
import { deploymentYaml, type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";
import { zeroBomb } from "../../unit/archive/build.ts";
import type { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";

const CLIENT = "/api/v1/clients/test-device";
const BUNDLE_TYPE = "application/vnd.margo.bundle.v1+tar+gzip";
let wfm: FakeWfm;

function publish(id: string, yaml: string, digest = sha256Digest(yaml)) {
  const url = `${CLIENT}/deployments/${id}/${digest}`;
  wfm.set(url, yaml, "application/yaml");
  return { deploymentId: id, digest, sizeBytes: yaml.length, url };
}

function bundleRef(bytes: Uint8Array, digest = sha256Digest(bytes)) {
  const url = `${CLIENT}/bundles/${digest}`;
  wfm.set(url, bytes, BUNDLE_TYPE);
  return { mediaType: BUNDLE_TYPE, digest, sizeBytes: bytes.length, url };
}

const manifest = (v: number | string, deployments: object[], bundle: object | null) => `{"manifestVersion":${v},"bundle":${JSON.stringify(bundle)},"deployments":${JSON.stringify(deployments)}}`;

beforeAll(() => {
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n", "application/yaml");
});
afterAll(() => wfm.stop());

describe("against a hostile WFM", () => {
  let h: Harness;
  const yamlA = () => deploymentYaml("dep-a", `${wfm.url}/pkg/compose.yaml`);
  const signal = new AbortController().signal;

  beforeAll(async () => {
    h = makeAgent({ wfmUrl: wfm.url });
    const a = publish("dep-a", yamlA());
    wfm.setManifest(manifest(5, [a], bundleRef(writeTarGz([{ path: "a.yaml", data: new TextEncoder().encode(yamlA()) }]))));
    const r = await h.agent.sync.poll(signal);
    expect(r.outcome).toBe("applied");
    expect(h.agent.store.getDeployment("dep-a")?.state).toBe("installed");
    await drained(h.agent);
  });
  afterAll(() => h.agent.stop());

  function expectUntouched() {
    expect(h.agent.store.lastManifestVersion()).toBe(5n);
    expect(h.agent.store.listDeployments().map((d) => [d.id, d.state])).toEqual([["dep-a", "installed"]]);
    expect((h.runtime as SimulatedRuntime).container("dep-a", "web")).toBeDefined();
  }

  async function expectRefused(json: string, code: string) {
    wfm.setManifest(json);
    const r = await h.agent.sync.poll(signal);
    expect(r.outcome).toBe("rejected");
    expect("error" in r ? (r.error.code as string) : undefined).toBe(code);
    expect(h.logs().some((l) => l.code === code && l.level === "error")).toBe(true);
    expectUntouched();
  }

  test("a single YAML whose bytes do not match its digest", async () => {
    const a = publish("dep-a", yamlA());
    const b = publish("dep-b", deploymentYaml("dep-b", `${wfm.url}/pkg/compose.yaml`), sha256Digest("something else"));
    await expectRefused(manifest(6, [a, b], bundleRef(new Uint8Array([1]))), "DIGEST_MISMATCH");
  });

  test("a repeated poll of the same refused manifest is answered 304 and changes nothing", async () => {
    const r = await h.agent.sync.poll(signal);
    expect(r.outcome).toBe("still-rejected");
    expectUntouched();
  });

  test("an equal or lower manifestVersion (rollback)", async () => {
    const a = publish("dep-a", yamlA());
    const other = publish("dep-c", deploymentYaml("dep-c", `${wfm.url}/pkg/compose.yaml`));
    await expectRefused(manifest(5, [a, other], bundleRef(new Uint8Array([2]))), "MANIFEST_VERSION_NOT_NEWER");
    await expectRefused(manifest(4, [], null), "MANIFEST_VERSION_NOT_NEWER");
  });

  test("an artifact URL outside the WFM's origin", async () => {
    const a = publish("dep-a", yamlA());
    const evil = { ...publish("dep-e", deploymentYaml("dep-e", `${wfm.url}/pkg/compose.yaml`)), url: "http://203.0.113.9/steal" };
    await expectRefused(manifest(7, [a, evil], bundleRef(new Uint8Array([3]))), "URL_FOREIGN_ORIGIN");
  });

  test("manifest that is not valid JSON, or breaks the schema", async () => {
    await expectRefused("{oops", "MANIFEST_INVALID");
    await expectRefused(manifest(8, [], { mediaType: BUNDLE_TYPE, digest: sha256Digest("x"), url: "/x" }), "MANIFEST_INVALID");
  });

  test("a manifestVersion in float or exponent syntax (a double would round it) is refused, not rounded", async () => {
    const a = publish("dep-a", yamlA());
    const b = publish("dep-b", deploymentYaml("dep-b", `${wfm.url}/pkg/compose.yaml`));
    for (const v of ["9007199254740993.0", "1e3", "6.0"]) {
      await expectRefused(manifest(v, [a, b], bundleRef(new Uint8Array([4]))), "MANIFEST_INVALID");
    }
  });

  test("__proto__, constructor or prototype keys in the manifest are refused", async () => {
    const a = publish("dep-a", yamlA());
    const b = publish("dep-b", deploymentYaml("dep-b", `${wfm.url}/pkg/compose.yaml`));
    const ok = manifest(9, [a, b], bundleRef(new Uint8Array([5])));
    for (const key of ["__proto__", "constructor", "prototype"]) {
      await expectRefused(ok.replace("{", `{"${key}":{"deployments":[]},`), "MANIFEST_INVALID");
      await expectRefused(ok.replace('"deployments":[{', `"deployments":[{"${key}":{"url":"http://203.0.113.9/"},`), "MANIFEST_INVALID");
    }
  });

  test("deployment ids . and .. (the work dir would be the data dir or its parent) are refused", async () => {
    const a = publish("dep-a", yamlA());
    for (const id of [".", ".."]) {
      const evil = publish(id, deploymentYaml(id, `${wfm.url}/pkg/compose.yaml`));
      await expectRefused(manifest(10, [a, evil], bundleRef(new Uint8Array([6]))), "MANIFEST_INVALID");
    }
  });
});

describe("hostile bundles on first sync (the bundle path)", () => {
  async function firstSyncWith(bundleBytes: Uint8Array, bundleDigest?: string) {
    const h = makeAgent({ wfmUrl: wfm.url });
    const yaml = deploymentYaml("dep-z", `${wfm.url}/pkg/compose.yaml`);
    const z = publish("dep-z", yaml);
    wfm.setManifest(manifest(1, [z], bundleRef(bundleBytes, bundleDigest)));
    const r = await h.agent.sync.poll(new AbortController().signal);
    const state = { outcome: r.outcome, code: "error" in r ? r.error.code : undefined, deployments: h.agent.store.listDeployments().length, version: h.agent.store.lastManifestVersion() };
    await h.agent.stop();
    return state;
  }
  const yaml = () => new TextEncoder().encode(deploymentYaml("dep-z", `${wfm.url}/pkg/compose.yaml`));

  test("a bundle whose bytes do not match its digest", async () => {
    expect(await firstSyncWith(writeTarGz([{ path: "z.yaml", data: yaml() }]), sha256Digest("not the bundle"))).toEqual({ outcome: "rejected", code: "DIGEST_MISMATCH", deployments: 0, version: null });
  });

  test("a bundle entry with ../ in its path", async () => {
    const evil = gzipSync(writeTar([{ path: "../../etc/z.yaml", data: yaml() }]));
    expect(await firstSyncWith(evil)).toEqual({ outcome: "rejected", code: "BUNDLE_UNSAFE", deployments: 0, version: null });
  });

  test("a bundle holding a symlink", async () => {
    const evil = gzipSync(writeTar([{ path: "z.yaml", data: yaml() }, { path: "passwd", type: "2", linkname: "/etc/passwd" }]));
    expect(await firstSyncWith(evil)).toEqual({ outcome: "rejected", code: "BUNDLE_UNSAFE", deployments: 0, version: null });
  });

  test("a gzip that expands to gigabytes", async () => {
    expect(await firstSyncWith(zeroBomb(4))).toEqual({ outcome: "rejected", code: "BUNDLE_TOO_LARGE", deployments: 0, version: null });
  });

  test("a bundle that lacks a listed deployment", async () => {
    expect(await firstSyncWith(writeTarGz([{ path: "other.yaml", data: new TextEncoder().encode("kind: x") }]))).toEqual({ outcome: "rejected", code: "BUNDLE_INCOMPLETE", deployments: 0, version: null });
  });
});
