import { describe, expect, test } from "bun:test";
import { assertValid, schemaNames, validateAgainstSchema } from "../support/openapi.ts";

const statusManifest = {
  apiVersion: "deployment.margo.org/v1alpha1",
  kind: "DeploymentStatusManifest",
  deploymentId: "a3e2f5dc-912e-494f-8395-52cf3769bc06",
  adoptedManifestVersion: 101, // rc.3 field; rc.2 allows extra properties (docs/protocol.md §10)
  status: { state: "failed", error: { code: "COMPONENT_EXITED", source: "web-app", message: "exited with code 1" } },
  components: [
    { name: "web", state: "failed", error: { code: "COMPONENT_EXITED", source: "web", message: "exited with code 1" } },
    { name: "db", state: "installed" },
  ],
};

describe("test/support/openapi.ts against the rc.2 OpenAPI file", () => {
  test("compiles every schema of the document", () => {
    const names = schemaNames();
    expect(names).toContain("DeploymentStatusManifest");
    for (const name of names) expect(() => validateAgainstSchema(name, {})).not.toThrow();
  });

  test("a valid DeploymentStatusManifest", () => {
    expect(validateAgainstSchema("DeploymentStatusManifest", statusManifest)).toEqual({ valid: true, errors: "" });
    expect(() => assertValid("DeploymentStatusManifest", statusManifest)).not.toThrow();
  });

  test("a DeploymentStatusManifest with a state outside the enum, and errors that say where", () => {
    const bad = { ...statusManifest, status: { state: "running" }, components: [{ name: "web", state: "Installed" }] };
    const result = validateAgainstSchema("DeploymentStatusManifest", bad);
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("/status/state must be equal to one of the allowed values");
    expect(result.errors).toContain("/components/0/state");
    expect(result.errors).toContain('"removed"');
    expect(() => assertValid("DeploymentStatusManifest", bad)).toThrow(/does not match DeploymentStatusManifest:\n.*\/status\/state/);
  });

  test("missing required properties are named", () => {
    const { deploymentId: _, ...withoutId } = statusManifest;
    expect(validateAgainstSchema("DeploymentStatusManifest", withoutId).errors).toContain("must have required property 'deploymentId'");
  });

  test("an empty desired state (bundle null, no deployments) is valid despite the dotted required names", () => {
    // Passes only because the support module drops "bundle.mediaType", "bundle.digest" and
    // "bundle.url" from UnsignedAppStateManifest.required: docs/protocol.md §10, a defect of rc.2.
    assertValid("UnsignedAppStateManifest", { manifestVersion: 1, bundle: null, deployments: [] });
  });

  test("a full desired state is valid, and a deployment without a digest is not", () => {
    const manifest = {
      manifestVersion: 101,
      bundle: {
        mediaType: "application/vnd.margo.bundle.v1+tar+gzip",
        digest: `sha256:${"a".repeat(64)}`,
        sizeBytes: 18342,
        url: `/api/v1/clients/1234/bundles/sha256:${"a".repeat(64)}`,
      },
      deployments: [
        {
          deploymentId: "a3e2f5dc-912e-494f-8395-52cf3769bc06",
          digest: `sha256:${"b".repeat(64)}`,
          sizeBytes: 2931,
          url: `/api/v1/clients/1234/deployments/a3e2f5dc-912e-494f-8395-52cf3769bc06/sha256:${"b".repeat(64)}`,
        },
      ],
    };
    assertValid("UnsignedAppStateManifest", manifest);
    const { digest: _, ...noDigest } = manifest.deployments[0]!;
    const result = validateAgainstSchema("UnsignedAppStateManifest", { ...manifest, deployments: [noDigest] });
    expect(result.valid).toBe(false);
    expect(result.errors).toContain("/deployments/0 must have required property 'digest'");
  });

  test("a valid DeviceCapabilitiesManifest, and one with an unknown top-level key", () => {
    const capabilities = {
      apiVersion: "device.margo.org/v1alpha1",
      kind: "DeviceCapabilitiesManifest",
      properties: {
        id: "edge-01",
        vendor: "Acme",
        modelNumber: "X1",
        serialNumber: "SN-0001",
        cpu: [{ cores: 2, architecture: "amd64" }],
        memory: "3814Mi",
        storage: "29Gi",
        peripherals: [{ type: "gpu", manufacturer: "Acme" }],
        interfaces: [{ type: "ethernet" }],
        otelCollector: false,
        supportedRuntimes: ["oci"],
        supportedDeploymentTypes: ["compose"],
      },
      "x-acme-extensions": { rack: "B4" },
    };
    assertValid("DeviceCapabilitiesManifest", capabilities);
    const result = validateAgainstSchema("DeviceCapabilitiesManifest", { ...capabilities, vendorNotes: "nope" });
    expect(result.valid).toBe(false);
    expect(result.errors).toContain('must NOT have additional properties ("vendorNotes")');
  });

  test("an unknown schema name is a clear error", () => {
    expect(() => validateAgainstSchema("NoSuchSchema", {})).toThrow(/no schema #\/components\/schemas\/NoSuchSchema/);
  });
});
