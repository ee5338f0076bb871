import { describe, expect, test } from "bun:test";
import type { DeviceDescription } from "../../../src/capabilities/manifest.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { profileFor, rc3Profile, v1Profile } from "../../../src/protocol/profiles/index.ts";
import { buildStatusManifest } from "../../../src/protocol/status-manifest.ts";
import { resolveWfmUrl, routeUrl } from "../../../src/protocol/urls.ts";
import { assertValid } from "../../support/openapi.ts";
import { assertRc3, validateRc3 } from "./rc3-openapi.ts";

const D = `sha256:${"ab".repeat(32)}`;

function refusal(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error("expected URL_FOREIGN_ORIGIN");
}

describe("a base URL with a path prefix (issue 12 item 2)", () => {
  const base = "https://wfm.example:8443/v1alpha2/margo";

  test("routes go under the prefix, with or without a trailing slash on the base", () => {
    expect(routeUrl(base, "/api/v1/deployments")).toBe("https://wfm.example:8443/v1alpha2/margo/api/v1/deployments");
    expect(routeUrl(`${base}/`, "/api/v1/deployments")).toBe("https://wfm.example:8443/v1alpha2/margo/api/v1/deployments");
    expect(routeUrl("https://wfm.example", "/api/v1/deployments")).toBe("https://wfm.example/api/v1/deployments");
  });

  test("server-relative manifest URLs resolve under the prefix, not the origin", () => {
    expect(resolveWfmUrl(base, `/api/v1/bundles/${D}`, "bundle")).toBe(`https://wfm.example:8443/v1alpha2/margo/api/v1/bundles/${D}`);
    // A WFM that writes its own mount point into the URL is not prefixed twice.
    expect(resolveWfmUrl(base, `/v1alpha2/margo/api/v1/bundles/${D}`, "bundle")).toBe(`https://wfm.example:8443/v1alpha2/margo/api/v1/bundles/${D}`);
    // A relative path is under the base as a directory; an absolute URL on the origin is taken as it is.
    expect(resolveWfmUrl(base, `api/v1/bundles/${D}`, "bundle")).toBe(`https://wfm.example:8443/v1alpha2/margo/api/v1/bundles/${D}`);
    expect(resolveWfmUrl(base, `https://wfm.example:8443/v1alpha2/margo/api/v1/bundles/${D}`, "bundle")).toBe(`https://wfm.example:8443/v1alpha2/margo/api/v1/bundles/${D}`);
    // Without a prefix nothing changes.
    expect(resolveWfmUrl("https://wfm.example", `/api/v1/bundles/${D}`, "bundle")).toBe(`https://wfm.example/api/v1/bundles/${D}`);
    // "/v1alpha2/margoX" is not under "/v1alpha2/margo".
    expect(resolveWfmUrl(base, "/v1alpha2/margoX/a", "x")).toBe("https://wfm.example:8443/v1alpha2/margo/v1alpha2/margoX/a");
  });

  test("anything that leaves the WFM origin is still refused, in every form", () => {
    for (const url of [
      "https://evil.example/api/v1/bundles/x",
      "//evil.example/api/v1/bundles/x",
      "\\\\evil.example/api/v1/bundles/x",
      "/\\evil.example/x",
      "http://wfm.example:8443/v1alpha2/margo/api/v1/bundles/x",
      "https://wfm.example:9443/v1alpha2/margo/api/v1/bundles/x",
      "https://wfm.example.evil.example/x",
    ]) {
      const e = refusal(() => resolveWfmUrl(base, url, "bundle"));
      expect(e.code).toBe("URL_FOREIGN_ORIGIN");
    }
    expect(refusal(() => resolveWfmUrl(base, "https://[::1", "bundle")).code).toBe("URL_FOREIGN_ORIGIN");
  });
});

describe("profile routes", () => {
  test("rc3 has no clientId anywhere; a child device id keeps its slash; segments are encoded", () => {
    const r = rc3Profile.routes(undefined)!;
    expect(r.manifest).toBe("/api/v1/deployments");
    expect(r.deployment("a3e2f5dc", D)).toBe(`/api/v1/deployments/a3e2f5dc/${encodeURIComponent(D)}`);
    expect(r.bundle(D)).toBe(`/api/v1/bundles/${encodeURIComponent(D)}`);
    expect(r.status("a3e2f5dc")).toBe("/api/v1/deployments/a3e2f5dc/status");
    expect(r.capabilities("gateway1/deviceA")).toBe("/api/v1/capabilities/gateway1/deviceA");
    expect(r.capabilities("dev 1")).toBe("/api/v1/capabilities/dev%201");
    expect(rc3Profile.capabilitiesMethods).toEqual(["PUT"]);
  });

  test("v1 keeps the clientId routes, and has none before onboarding", () => {
    expect(v1Profile.routes(undefined)).toBeUndefined();
    const r = v1Profile.routes("c/1")!;
    expect(r.manifest).toBe("/api/v1/clients/c%2F1/deployments");
    expect(r.status("d1")).toBe("/api/v1/clients/c%2F1/deployments/d1/status");
    expect(r.capabilities("dev-1")).toBe("/api/v1/clients/c%2F1/capabilities/dev-1");
    expect(profileFor("v1")).toBe(v1Profile);
    expect(profileFor("rc3")).toBe(rc3Profile);
  });
});

describe("status bodies per profile", () => {
  const input = {
    deploymentId: "a3e2f5dc",
    manifestVersion: 18446744073709551615n,
    components: [
      { name: "web", state: "failed" as const, error: { code: "IMAGE_NOT_FOUND", source: "web", message: "no image" } },
      { name: "db", state: "installed" as const },
    ],
    error: { code: "IMAGE_NOT_FOUND", source: "hello", message: "component web: no image" },
  };

  test("v1 output is byte-identical to what the agent sent before profiles", () => {
    const expected =
      '{"apiVersion":"deployment.margo.org/v1alpha1","kind":"DeploymentStatusManifest","deploymentId":"a3e2f5dc","adoptedManifestVersion":18446744073709551615,' +
      '"status":{"state":"failed","error":{"code":"IMAGE_NOT_FOUND","source":"hello","message":"component web: no image"}},' +
      '"components":[{"name":"web","state":"failed","error":{"code":"IMAGE_NOT_FOUND","source":"web","message":"no image"}},{"name":"db","state":"installed"}]}';
    expect(buildStatusManifest(input)).toBe(expected);
    expect(buildStatusManifest(input, v1Profile.statusFormat("dev-1"))).toBe(expected);
    assertValid("DeploymentStatusManifest", JSON.parse(expected));
  });

  test("rc3: no envelope, the deviceId, the exact u64, valid against rc.3", () => {
    const body = buildStatusManifest(input, rc3Profile.statusFormat("gateway1/deviceA"));
    expect(body).toStartWith('{"deploymentId":"a3e2f5dc","deviceId":"gateway1/deviceA","adoptedManifestVersion":18446744073709551615,');
    const json = JSON.parse(body);
    expect(json.apiVersion).toBeUndefined();
    expect(json.kind).toBeUndefined();
    assertRc3("DeploymentStatusManifest", json);
    for (const state of ["pending", "installing", "installed", "removing", "removed"] as const) {
      assertRc3("DeploymentStatusManifest", JSON.parse(buildStatusManifest({ deploymentId: "d", manifestVersion: 1n, components: [{ name: "web", state }] }, rc3Profile.statusFormat("dev-1"))));
    }
  });

  test("a deviceId that spells the splice marker cannot move the manifest version", () => {
    const body = buildStatusManifest({ deploymentId: "d", manifestVersion: 7n, components: [] , state: "pending" }, { envelope: false, deviceId: "__MV__" });
    expect(JSON.parse(body)).toMatchObject({ deviceId: "__MV__", adoptedManifestVersion: 7 });
  });
});

describe("capabilities bodies per profile", () => {
  const device: DeviceDescription = {
    properties: {
      id: "northstarida.xtapro.k8s.edge",
      vendor: "Northstar Industrial Devices",
      modelNumber: "332ANZE1-N1",
      serialNumber: "PF45343-AA",
      cpus: [{ cores: 24, architecture: "amd64" }],
      memory: "59Gi",
      storage: "1862Gi",
      peripherals: [{ type: "gpu", manufacturer: "NVIDIA" }],
      interfaces: [{ type: "ethernet" }, { type: "wifi" }],
      otelCollector: false,
      supportedRuntimes: ["oci"],
      supportedDeploymentTypes: ["compose", "helm"],
    },
    labels: { "example.com/site": "plant-7", "example.com/hyper-v.host": true, "example.com/lines": ["a", "b"], "example.com/floor": 3 },
  };

  test("rc3: no apiVersion/kind, cpus, labels; valid against rc.3 (additionalProperties: false)", () => {
    const body = rc3Profile.capabilitiesBody(device) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["properties", "labels"]);
    expect((body.properties as Record<string, unknown>).cpus).toEqual([{ cores: 24, architecture: "amd64" }]);
    expect((body.properties as Record<string, unknown>).cpu).toBeUndefined();
    assertRc3("DeviceCapabilitiesManifest", body);
    // No labels configured: the key is left out (it is optional).
    const bare = rc3Profile.capabilitiesBody({ ...device, labels: {} });
    expect(Object.keys(bare)).toEqual(["properties"]);
    assertRc3("DeviceCapabilitiesManifest", bare);
    // A non-hosting device (no runtime now): identity fields only.
    const { id, vendor, modelNumber, serialNumber } = device.properties;
    assertRc3("DeviceCapabilitiesManifest", rc3Profile.capabilitiesBody({ properties: { id, vendor, modelNumber, serialNumber }, labels: {} }));
  });

  test("the v1 body is not valid rc.3 (and the other way round): the frames really differ", () => {
    const v1 = v1Profile.capabilitiesBody(device);
    expect(validateRc3("DeviceCapabilitiesManifest", v1).valid).toBe(false);
    assertValid("DeviceCapabilitiesManifest", v1);
    expect(v1).toMatchObject({ apiVersion: "device.margo.org/v1alpha1", kind: "DeviceCapabilitiesManifest", properties: { cpu: [{ cores: 24, architecture: "amd64" }] } });
    expect((v1 as Record<string, unknown>).labels).toBeUndefined();
  });
});
