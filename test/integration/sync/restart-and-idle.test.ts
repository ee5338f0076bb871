import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { drained, makeAgent } from "../../support/agent-harness.ts";
import { deploymentYaml, type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";

let wfm: FakeWfm;
const CLIENT = "/api/v1/clients/test-device";

beforeAll(() => {
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n");
  const yaml = deploymentYaml("dep-a", `${wfm.url}/pkg/compose.yaml`);
  const digest = sha256Digest(yaml);
  wfm.set(`${CLIENT}/deployments/dep-a/${digest}`, yaml);
  const bundle = writeTarGz([{ path: "a.yaml", data: new TextEncoder().encode(yaml) }]);
  const bdigest = sha256Digest(bundle);
  wfm.set(`${CLIENT}/bundles/${bdigest}`, bundle);
  wfm.setManifest(JSON.stringify({
    manifestVersion: 3,
    bundle: { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: bdigest, sizeBytes: bundle.length, url: `${CLIENT}/bundles/${bdigest}` },
    deployments: [{ deploymentId: "dep-a", digest, sizeBytes: yaml.length, url: `${CLIENT}/deployments/dep-a/${digest}` }],
  }));
});
afterAll(() => wfm.stop());

test("idle polls answered 304 write nothing to SQLite, and a restart keeps the applied state without asking the WFM", async () => {
  const first = makeAgent({ wfmUrl: wfm.url });
  const signal = new AbortController().signal;
  expect((await first.agent.sync.poll(signal)).outcome).toBe("applied");
  await drained(first.agent);
  const statesReported = wfm.reports.map((r) => (r.body.status as { state: string }).state);
  expect(statesReported).toEqual(["pending", "installing", "installed"]);

  const changes = () => first.agent.store.db.prepare<{ n: number }>("SELECT total_changes() AS n").get()!.n;
  const before = changes();
  for (let i = 0; i < 100; i++) expect((await first.agent.sync.poll(signal)).outcome).toBe("not-modified");
  expect(changes()).toBe(before);
  await first.agent.stop();

  // Restart with the WFM gone: the state comes from the store, nothing is re-applied or re-reported.
  wfm.setManifest("{}");
  const requestsBefore = wfm.requests.length;
  const second = makeAgent({ wfmUrl: "http://127.0.0.1:9", dataDir: first.dataDir });
  const outcomes = await second.agent.sync.reconcileStored("boot", signal, true);
  expect(outcomes).toEqual([]);
  expect(second.agent.store.lastManifestVersion()).toBe(3n);
  expect(second.agent.store.getDeployment("dep-a")?.state).toBe("installed");
  expect(wfm.requests.length).toBe(requestsBefore);
  await second.agent.stop();
});
