import { afterAll, expect, test } from "bun:test";
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { drained, makeAgent } from "../../support/agent-harness.ts";
import { deploymentYaml, startFakeWfm } from "../../support/fake-wfm.ts";
import type { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";

const wfm = startFakeWfm();
afterAll(() => wfm.stop());
const CLIENT = "/api/v1/clients/test-device";

test("a compose file asking for a privileged container fails with COMPOSE_POLICY_DENIED; the other deployment runs", async () => {
  wfm.set("/pkg/ok.yaml", "services:\n  web: {image: x}\n");
  wfm.set("/pkg/root.yaml", "services:\n  web: {image: x, privileged: true, volumes: ['/:/host']}\n");
  const docs = [
    ["ok", deploymentYaml("ok", `${wfm.url}/pkg/ok.yaml`)],
    ["root", deploymentYaml("root", `${wfm.url}/pkg/root.yaml`)],
  ];
  const bundle = writeTarGz(docs.map(([id, yaml]) => ({ path: `${id}.yaml`, data: new TextEncoder().encode(yaml!) })));
  wfm.set(`${CLIENT}/bundles/${sha256Digest(bundle)}`, bundle);
  const refs = docs.map(([id, yaml]) => {
    const digest = sha256Digest(yaml!);
    wfm.set(`${CLIENT}/deployments/${id}/${digest}`, yaml!);
    return { deploymentId: id, digest, url: `${CLIENT}/deployments/${id}/${digest}` };
  });
  wfm.setManifest(JSON.stringify({ manifestVersion: 1, bundle: { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest: sha256Digest(bundle), url: `${CLIENT}/bundles/${sha256Digest(bundle)}` }, deployments: refs }));
  const h = makeAgent({ wfmUrl: wfm.url });
  expect((await h.agent.sync.poll(new AbortController().signal)).outcome).toBe("applied");
  expect(h.agent.store.getDeployment("ok")?.state).toBe("installed");
  const root = h.agent.store.getDeployment("root")!;
  expect(root.state).toBe("failed");
  expect(root.error?.code).toBe("COMPOSE_POLICY_DENIED");
  expect(root.error?.message).toContain("services.web.privileged");
  expect((h.runtime as SimulatedRuntime).container("root", "web")).toBeUndefined();
  await drained(h.agent);
  const last = wfm.reports.filter((r) => r.deploymentId === "root").at(-1)!.body as { status: { error: { code: string } } };
  expect(last.status.error.code).toBe("COMPOSE_POLICY_DENIED");
  await h.agent.stop();
});
