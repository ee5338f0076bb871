/**
 * Issue 10, item 15, against a real HTTP WFM and a real Agent (real SQLite,
 * simulated runtime):
 * - a 60 KB ETag was stored and sent back as If-None-Match on every poll;
 * - a `__proto__` / `constructor` / `prototype` key slipped past the
 *   unknown-field check of an ApplicationDeployment (valibot drops them);
 * - an ApplicationDeployment id `.` or `..` made its work dir the data dir.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { writeTarGz } from "../../../src/archive/index.ts";
import type { Agent } from "../../../src/agent/agent.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from "../../../src/protocol/manifest.ts";
import { MAX_ETAG_BYTES } from "../../../src/protocol/wfm-client.ts";
import { buildAgent, tempDir, testConfig } from "../api/agent-fixture.ts";
import { deploymentYaml } from "../api/tiny-wfm.ts";

const CLIENT = "/api/v1/clients/dev-1";

interface ScriptedWfm {
  url: string;
  /** The next manifest served: deployments as (manifest id, YAML text), and the ETag header to send (undefined: none). */
  serve(version: number, deployments: { id: string; yaml: string }[], etag?: string): void;
  /** The If-None-Match header of every manifest GET, in order ("" when absent). */
  ifNoneMatch: string[];
  stop(): void;
}

function startScriptedWfm(): ScriptedWfm {
  const files = new Map<string, { body: Uint8Array; type: string }>();
  let manifest = "";
  let etag: string | undefined;
  const wfm: ScriptedWfm = {
    url: "",
    ifNoneMatch: [],
    serve(version, deployments, tag) {
      const docs = deployments.map((d) => ({ ...d, bytes: new TextEncoder().encode(d.yaml), digest: sha256Digest(d.yaml) }));
      const bundle = docs.length ? writeTarGz(docs.map((d, i) => ({ path: `d${i}.yaml`, data: d.bytes }))) : undefined;
      if (bundle) files.set(`${CLIENT}/bundles/${sha256Digest(bundle)}`, { body: bundle, type: BUNDLE_MEDIA_TYPE });
      for (const d of docs) files.set(`${CLIENT}/deployments/d/${d.digest}`, { body: d.bytes, type: "application/yaml" });
      manifest = JSON.stringify({
        manifestVersion: version,
        bundle: bundle ? { mediaType: BUNDLE_MEDIA_TYPE, digest: sha256Digest(bundle), url: `${CLIENT}/bundles/${sha256Digest(bundle)}` } : null,
        deployments: docs.map((d) => ({ deploymentId: d.id, digest: d.digest, url: `${CLIENT}/deployments/d/${d.digest}` })),
      });
      etag = tag;
    },
    stop: () => void server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === `${CLIENT}/deployments`) {
        const inm = req.headers.get("if-none-match") ?? "";
        wfm.ifNoneMatch.push(inm);
        if (etag !== undefined && inm === etag) return new Response(null, { status: 304 });
        return new Response(manifest, { headers: { "content-type": MANIFEST_MEDIA_TYPE, ...(etag !== undefined ? { etag } : {}) } });
      }
      const file = files.get(path);
      if (req.method === "GET" && file) return new Response(file.body, { headers: { "content-type": file.type } });
      if (req.method === "POST" && path.endsWith("/status")) return new Response(null, { status: 201 });
      return new Response("not found", { status: 404 });
    },
  });
  wfm.url = `http://127.0.0.1:${server.port}`;
  return wfm;
}

let wfm: ScriptedWfm;
beforeAll(() => {
  wfm = startScriptedWfm();
});
afterAll(() => wfm.stop());

function freshAgent(): { agent: Agent; dataDir: string; done: () => Promise<void> } {
  const dir = tempDir("margo-hostile-manifest-");
  const agent = buildAgent(testConfig(dir.dir, wfm.url));
  return {
    agent,
    dataDir: dir.dir,
    done: async () => {
      await agent.stop();
      dir.remove();
    },
  };
}

const poll = (agent: Agent) => agent.sync.poll(new AbortController().signal);

describe("an oversized ETag", () => {
  test("a 60 KB ETag is refused as a verdict on the manifest, never stored, never sent back", async () => {
    const { agent, done } = freshAgent();
    try {
      const huge = `"${"e".repeat(60 * 1024)}"`;
      wfm.serve(1, [{ id: "dep-a", yaml: deploymentYaml("dep-a", "a") }], huge);
      wfm.ifNoneMatch.length = 0;
      for (let i = 0; i < 3; i++) {
        const r = await poll(agent);
        expect(r.outcome).toBe("rejected");
        expect("error" in r && r.error.code).toBe("MANIFEST_INVALID");
        expect("error" in r && r.error.message).toContain(`ETag is ${huge.length} bytes, more than the ${MAX_ETAG_BYTES} accepted`);
      }
      expect(agent.store.lastEtag()).toBeUndefined();
      expect(agent.store.lastManifestVersion()).toBeNull();
      expect(agent.store.listDeployments()).toEqual([]);
      expect(wfm.ifNoneMatch.length).toBe(3);
      expect(wfm.ifNoneMatch.every((h) => h.length <= MAX_ETAG_BYTES)).toBe(true);
      // The WFM fixes its ETag: the same manifest is taken, and the short ETag is what comes back.
      const fine = `"${"f".repeat(MAX_ETAG_BYTES - 2)}"`;
      wfm.serve(1, [{ id: "dep-a", yaml: deploymentYaml("dep-a", "a") }], fine);
      expect((await poll(agent)).outcome).toBe("applied");
      expect(agent.store.lastEtag()).toBe(fine);
      expect((await poll(agent)).outcome).toBe("not-modified");
      expect(wfm.ifNoneMatch.at(-1)).toBe(fine);
    } finally {
      await done();
    }
  });

  test("an oversized ETag kept in the store from before the bound is not sent again", async () => {
    const { agent, done } = freshAgent();
    try {
      const huge = `"${"o".repeat(60 * 1024)}"`;
      agent.store.commitManifest(1n, huge);
      wfm.serve(2, [], '"v2"');
      wfm.ifNoneMatch.length = 0;
      expect((await poll(agent)).outcome).toBe("applied");
      expect(wfm.ifNoneMatch).toEqual([""]);
    } finally {
      await done();
    }
  });
});

describe("an ApplicationDeployment the WFM serves", () => {
  test("reserved keys (__proto__, constructor, prototype) fail the deployment with DEPLOYMENT_INVALID; nothing of it runs", async () => {
    const { agent, done } = freshAgent();
    try {
      const clean = deploymentYaml("dep-p", "p", { params: { region: { value: "eu", pointer: "REGION" } } });
      const evil = [
        clean.replace("spec:\n", "spec:\n  __proto__: {x: 1}\n"),
        clean.replace("          wait: false\n", "          wait: false\n          constructor: {packageLocation: https://evil.example/p}\n"),
        clean.replace("      value: \"eu\"\n", "      value: \"eu\"\n      prototype: {targets: []}\n"),
      ];
      let version = 1;
      for (const yaml of evil) {
        expect(yaml).not.toBe(clean);
        wfm.serve(version++, [{ id: "dep-p", yaml }], `"v${version}"`);
        const r = await poll(agent);
        expect(r.outcome).toBe("applied");
        const d = agent.store.getDeployment("dep-p");
        expect(d?.state).toBe("failed");
        expect(d?.error?.code).toBe("DEPLOYMENT_INVALID");
        expect(d?.error?.message).toMatch(/"(__proto__|constructor|prototype)" is not allowed/);
        expect((agent.runtime as SimulatedRuntime).container("dep-p", "app")).toBeUndefined();
      }
    } finally {
      await done();
    }
  });

  test("ids . and .. are refused in the manifest and in the YAML; nothing is written outside deployments/<id>", async () => {
    const { agent, dataDir, done } = freshAgent();
    try {
      const before = readdirSync(dataDir).sort();
      for (const id of [".", ".."]) {
        // Listed as such in the manifest: the manifest is refused.
        wfm.serve(1, [{ id, yaml: deploymentYaml(id, "dots") }], `"m-${id}"`);
        const r = await poll(agent);
        expect(r.outcome).toBe("rejected");
        expect("error" in r && r.error.code).toBe("MANIFEST_INVALID");
        expect("error" in r && r.error.message).toContain("a safe path segment");
      }
      expect(agent.store.listDeployments()).toEqual([]);
      // Only in the YAML (the manifest names a proper id): that deployment fails, nothing runs.
      wfm.serve(1, [{ id: "dep-ok", yaml: deploymentYaml('".."', "dots") }], '"y"');
      expect((await poll(agent)).outcome).toBe("applied");
      expect(agent.store.getDeployment("dep-ok")?.state).toBe("failed");
      expect(agent.store.getDeployment("dep-ok")?.error?.message).toContain("metadata.annotations.id");
      expect(readdirSync(dataDir).sort()).toEqual(before);
      expect(existsSync(join(dataDir, "compose.yaml"))).toBe(false);
    } finally {
      await done();
    }
  });
});
