/**
 * Issue 10 item 14: where no engine exists, a compose deployment fails with
 * ENGINE_NOT_FOUND (the null runtime, and a compose adapter whose CLI is not
 * installed); where the engine is installed but down, ENGINE_UNREACHABLE; only a
 * profile no adapter runs at all (helm.v3) is PROFILE_UNSUPPORTED. Real agent,
 * real HTTP WFM, real (missing or dead) engines.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createComposeRuntime } from "../../../runtimes/compose/index.ts";
import { defaultBaseEnv } from "../../../runtimes/shared/compose-adapter.ts";
import type { RuntimeAdapter } from "../../../runtimes/types.ts";
import { createUnsupportedRuntime } from "../../../runtimes/unsupported/index.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { makeAgent } from "../../support/agent-harness.ts";
import { deploymentYaml, type FakeWfm, publishManifest, startFakeWfm } from "../../support/fake-wfm.ts";

let wfm: FakeWfm;
beforeAll(() => {
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n", "application/yaml");
});
afterAll(() => wfm.stop());


async function failureCodes(runtime: RuntimeAdapter): Promise<Record<string, string | undefined>> {
  const h = makeAgent({ wfmUrl: wfm.url, runtime });
  publishManifest(wfm, 1, {
    "dep-compose": deploymentYaml("dep-compose", `${wfm.url}/pkg/compose.yaml`),
    "dep-helm": deploymentYaml("dep-helm", `${wfm.url}/pkg/compose.yaml`).replace("type: compose", "type: helm.v3"),
  });
  const r = await h.agent.sync.poll(new AbortController().signal);
  expect(r.outcome).toBe("applied");
  const codes = Object.fromEntries(h.agent.store.listDeployments().map((d) => [d.id, d.error?.code]));
  expect(h.agent.store.listDeployments().every((d) => d.state === "failed")).toBe(true);
  await h.agent.stop();
  return codes;
}

test("the null runtime: compose deployments fail with ENGINE_NOT_FOUND, helm with PROFILE_UNSUPPORTED", async () => {
  expect(await failureCodes(createUnsupportedRuntime("no engine in this test"))).toEqual({ "dep-compose": "ENGINE_NOT_FOUND", "dep-helm": "PROFILE_UNSUPPORTED" });
});

test("a Docker CLI that is not installed: ENGINE_NOT_FOUND", async () => {
  const runtime = createComposeRuntime({ platform: bunPlatform, docker: "/nonexistent/docker" });
  expect(await failureCodes(runtime)).toEqual({ "dep-compose": "ENGINE_NOT_FOUND", "dep-helm": "PROFILE_UNSUPPORTED" });
});

test("a Docker engine that does not answer: ENGINE_UNREACHABLE", async () => {
  const runtime = createComposeRuntime({ platform: bunPlatform, baseEnv: { ...defaultBaseEnv(), DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
  expect(await failureCodes(runtime)).toEqual({ "dep-compose": "ENGINE_UNREACHABLE", "dep-helm": "PROFILE_UNSUPPORTED" });
}, 30_000);
