import { describe, expect, test } from "bun:test";
import YAML from "yaml";
import type { DeviceDescription } from "../../../src/capabilities/manifest.ts";
import { deploymentPlacementProblem, targetsDevice, type ConstraintDevice } from "../../../src/deployment/constraints.ts";
import { parseDeployment } from "../../../src/deployment/parse.ts";
import { AgentError } from "../../../src/errors/index.ts";
import { assertRc3 } from "./rc3-openapi.ts";

/** The rc.3 shape (desired-state, PROTOCOL.md §9): top-level id, metadata.deviceId, spec.applicationId, repository + revision, deviceConstraints. */
const RC3 = `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
id: ad9b614e-8912-45f4-a523-372358765def
metadata:
  name: digitron-orchestrator-deployment
  namespace: margo-poc
  deviceId: plant-alfa-zone1-edge01
  annotations:
    id: ad9b614e-8912-45f4-a523-372358765def
    applicationId: com-northstartida-digitron-orchestrator
spec:
  applicationId: com-northstartida-digitron-orchestrator
  deploymentProfile:
    type: compose
    components:
      - name: digitron-orchestrator
        properties:
          repository: oci://northstarida.azurecr.io/compose/digitron-orchestrator
          revision: 1.0.9
          wait: true
          timeout: 8m30s
    deviceConstraints:
      capacityRequirements:
        cpu:
          cores: 2
          architectures: [amd64, arm64]
        memory: 1024Mi
        storage: 5Gi
      eligibilityRules:
        - propertySelector:
            matchExpressions:
              - key: /vendor
                operator: In
                values: ["EdgeCircuit Systems", "NanoEdge Devices"]
          labelSelector:
            matchExpressions:
              - key: example.com/hyper-v.host
                operator: In
                values: [true]
  parameters:
    siteId:
      value: SID-123-ABC
      targets:
        - pointer: SITE_ID
          components: [digitron-orchestrator]
`;

const device = (over: Partial<DeviceDescription["properties"]> = {}, labels: DeviceDescription["labels"] = { "example.com/hyper-v.host": true }): ConstraintDevice => ({
  deviceId: "plant-alfa-zone1-edge01",
  description: {
    properties: {
      id: "plant-alfa-zone1-edge01",
      vendor: "EdgeCircuit Systems",
      modelNumber: "EF1.234.32",
      serialNumber: "SN1",
      cpus: [{ cores: 4, architecture: "arm64" }],
      memory: "7812Mi",
      storage: "29Gi",
      supportedRuntimes: ["oci"],
      supportedDeploymentTypes: ["compose"],
      ...over,
    },
    labels,
  },
});

function errorOf(yaml: string): AgentError {
  try {
    parseDeployment(yaml, "test.yaml");
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error("expected DEPLOYMENT_INVALID");
}

/** The YAML with one edit to its parsed form. */
function edited(fn: (doc: Record<string, any>) => void): string {
  const doc = YAML.parse(RC3);
  fn(doc);
  return YAML.stringify(doc);
}

describe("ApplicationDeployment, rc3 shape (issue 12 item 5)", () => {
  test("parses, and matches the rc.3 schema's appDeploymentManifest (wait/timeout as the OpenAPI has them)", () => {
    const doc = YAML.parse(RC3);
    assertRc3("appDeploymentManifest", doc);
    const dep = parseDeployment(RC3, "test.yaml");
    expect(dep.id).toBe("ad9b614e-8912-45f4-a523-372358765def");
    expect(dep.applicationId).toBe("com-northstartida-digitron-orchestrator");
    expect(dep.deviceId).toBe("plant-alfa-zone1-edge01");
    expect(dep.components[0]).toMatchObject({ name: "digitron-orchestrator", repository: "oci://northstarida.azurecr.io/compose/digitron-orchestrator", revision: "1.0.9", wait: true, timeoutMs: 510_000 });
    expect(dep.components[0]!.packageLocation).toBeUndefined();
    expect(dep.deviceConstraints?.capacityRequirements).toEqual({ cpu: { cores: 2, architectures: ["amd64", "arm64"] }, memory: { text: "1024Mi", bytes: 1024 ** 3 }, storage: { text: "5Gi", bytes: 5 * 1024 ** 3 } });
    expect(dep.deviceConstraints?.eligibilityRules).toHaveLength(1);
  });

  test("the id only at the top level, no annotations (rc3), is enough", () => {
    const dep = parseDeployment(edited((d) => delete d.metadata.annotations), "test.yaml");
    expect(dep.id).toBe("ad9b614e-8912-45f4-a523-372358765def");
    expect(dep.applicationId).toBe("com-northstartida-digitron-orchestrator");
  });

  test("refused with DEPLOYMENT_INVALID naming the field", () => {
    const cases: [string, (d: Record<string, any>) => void, string][] = [
      ["two different ids", (d) => (d.metadata.annotations.id = "other-id"), "differ"],
      ["two different applicationIds", (d) => (d.spec.applicationId = "other-app"), "differ"],
      ["a repository that is not oci://", (d) => (d.spec.deploymentProfile.components[0].properties.repository = "https://r.example/x"), "components.0.properties.repository"],
      ["a revision without a repository", (d) => {
        delete d.spec.deploymentProfile.components[0].properties.repository;
        d.spec.deploymentProfile.components[0].properties.packageLocation = "https://p.example/x.tar.gz";
      }, "revision: given without a repository"],
      ["packageLocation and repository together", (d) => (d.spec.deploymentProfile.components[0].properties.packageLocation = "https://p.example/x.tar.gz"), "not both"],
      ["a compose component with no package at all", (d) => {
        delete d.spec.deploymentProfile.components[0].properties.repository;
        delete d.spec.deploymentProfile.components[0].properties.revision;
      }, "needs repository + revision"],
      ["a deviceId with a space", (d) => (d.metadata.deviceId = "plant alfa"), "metadata.deviceId"],
      ["a memory requirement that is no size", (d) => (d.spec.deploymentProfile.deviceConstraints.capacityRequirements.memory = "lots"), "capacityRequirements.memory"],
      ["cores that are not a number", (d) => (d.spec.deploymentProfile.deviceConstraints.capacityRequirements.cpu.cores = "two"), "capacityRequirements.cpu.cores"],
      ["a match expression without a key", (d) => delete d.spec.deploymentProfile.deviceConstraints.eligibilityRules[0].labelSelector.matchExpressions[0].key, "matchExpressions.0.key"],
      ["__proto__ inside deviceConstraints", (d) => Object.defineProperty(d.spec.deploymentProfile.deviceConstraints, "__proto__", { value: { polluted: true }, enumerable: true }), "__proto__"],
    ];
    for (const [what, fn, says] of cases) {
      const e = errorOf(edited(fn));
      expect({ what, code: e.code }).toEqual({ what, code: "DEPLOYMENT_INVALID" });
      expect({ what, message: e.message.includes(says) }).toEqual({ what, message: true });
    }
  });

  test("constraints from a later revision (unknown keys, unknown operators) are tolerated, not refused", () => {
    const dep = parseDeployment(
      edited((d) => {
        d.spec.deploymentProfile.deviceConstraints.capacityRequirements.gpus = 1;
        d.spec.deploymentProfile.deviceConstraints.eligibilityRules[0].labelSelector.matchExpressions.push({ key: "x", operator: "Matches", values: ["a*"] });
      }),
      "test.yaml",
    );
    expect(deploymentPlacementProblem(dep, device())).toBeUndefined();
  });
});

describe("placement: metadata.deviceId and deviceConstraints (pure)", () => {
  const dep = parseDeployment(RC3, "test.yaml");
  const variant = (fn: (d: Record<string, any>) => void) => parseDeployment(edited(fn), "test.yaml");

  test("a device that satisfies everything, and deployments without deviceId or constraints, pass", () => {
    expect(deploymentPlacementProblem(dep, device())).toBeUndefined();
    const bare = variant((d) => {
      delete d.metadata.deviceId;
      delete d.spec.deploymentProfile.deviceConstraints;
    });
    expect(deploymentPlacementProblem(bare, device({ cpus: [{ cores: 1, architecture: "arm" }], memory: "1Mi" }, {}))).toBeUndefined();
  });

  test("another device's deployment: DEPLOYMENT_OTHER_DEVICE naming both ids", () => {
    const other = variant((d) => (d.metadata.deviceId = "plant-bravo-edge02"));
    expect(deploymentPlacementProblem(other, device())).toEqual({
      code: "DEPLOYMENT_OTHER_DEVICE",
      source: "digitron-orchestrator-deployment",
      message: "the deployment is for device plant-bravo-edge02 (metadata.deviceId), this device is plant-alfa-zone1-edge01; nothing is installed",
    });
    expect(targetsDevice("gw1/*", "gw1/child-a")).toBe(true);
    expect(targetsDevice("gw1/*", "gw1")).toBe(false);
    expect(targetsDevice("gw1/*", "gw10/child")).toBe(false);
    expect(targetsDevice("dev-1", "DEV-1")).toBe(false);
  });

  const unmet = (d: ConstraintDevice, of = dep) => {
    const p = deploymentPlacementProblem(of, d);
    expect(p?.code).toBe("DEVICE_CONSTRAINT_UNMET");
    return p!.message;
  };

  test("each capacity constraint, named", () => {
    expect(unmet(device({ cpus: [{ cores: 4, architecture: "arm" }] }))).toContain("capacityRequirements.cpu.architectures: needs one of amd64, arm64, the device is arm");
    expect(unmet(device({ cpus: [{ cores: 1, architecture: "arm64" }] }))).toContain("capacityRequirements.cpu.cores: needs 2 cores on one CPU, the device reports at most 1");
    // Cores of separate entries are never summed (device-capabilities.md, CPU attributes).
    expect(unmet(device({ cpus: [{ cores: 1, architecture: "arm64" }, { cores: 1, architecture: "arm64" }] }))).toContain("cpu.cores");
    // Cores and architecture must come from the same entry.
    expect(unmet(device({ cpus: [{ cores: 8, architecture: "arm" }, { cores: 1, architecture: "arm64" }] }))).toContain("cpu.cores");
    expect(unmet(device({ memory: "512Mi" }))).toContain("capacityRequirements.memory: needs 1024Mi, the device reports 512Mi");
    expect(unmet(device({ storage: "4Gi" }))).toContain("capacityRequirements.storage: needs 5Gi, the device reports 4Gi");
    // The specification's own examples write sizes with a space.
    expect(unmet(device({ storage: "4 Gi" }))).toContain("capacityRequirements.storage");
    expect(deploymentPlacementProblem(dep, device({ memory: "1 Gi" }))).toBeUndefined();
  });

  test("what the device does not report, it is not refused for (conservative)", () => {
    expect(deploymentPlacementProblem(dep, device({ cpus: undefined, memory: undefined, storage: undefined }))).toBeUndefined();
    // An architecture we cannot name in Margo's enum (riscv64 on the agent's side) is not judged.
    expect(deploymentPlacementProblem(dep, device({ cpus: [{ cores: 4 }] }))).toBeUndefined();
  });

  test("eligibility rules: a property or label that rules this device out, named; any one rule met is enough", () => {
    expect(unmet(device({ vendor: "Other Vendor" }))).toContain('eligibilityRules[0].propertySelector: /vendor In ["EdgeCircuit Systems","NanoEdge Devices"], the device\'s is "Other Vendor"');
    expect(unmet(device({}, {}))).toContain("eligibilityRules[0].labelSelector: example.com/hyper-v.host In [true], the device's is absent");
    // "true" as a string label still matches the boolean value (the WFM's typing may differ).
    expect(deploymentPlacementProblem(dep, device({}, { "example.com/hyper-v.host": "true" }))).toBeUndefined();
    const two = variant((d) => d.spec.deploymentProfile.deviceConstraints.eligibilityRules.push({ labelSelector: { matchExpressions: [{ key: "site", operator: "Exists" }] } }));
    expect(deploymentPlacementProblem(two, device({}, { site: "a" }))).toBeUndefined();
    expect(unmet(device({}, {}), two)).toContain("eligibilityRules[1].labelSelector: site Exists");
  });

  test("operators: NotIn, DoesNotExist, Gt, Lt, ContainsAny/ContainsAll with values and with an itemSelector", () => {
    const withRule = (expr: Record<string, unknown>, on: "propertySelector" | "labelSelector" = "propertySelector") =>
      variant((d) => (d.spec.deploymentProfile.deviceConstraints.eligibilityRules = [{ [on]: { matchExpressions: [expr] } }]));
    const ok = (expr: Record<string, unknown>, d = device(), on?: "propertySelector" | "labelSelector") => deploymentPlacementProblem(withRule(expr, on), d) === undefined;
    expect(ok({ key: "/vendor", operator: "NotIn", values: ["NanoEdge Devices"] })).toBe(true);
    expect(ok({ key: "/vendor", operator: "NotIn", values: ["EdgeCircuit Systems"] })).toBe(false);
    expect(ok({ key: "/otelCollector", operator: "DoesNotExist" })).toBe(true);
    expect(ok({ key: "/cpus/0/cores", operator: "Gt", values: [3] })).toBe(true);
    expect(ok({ key: "/cpus/0/cores", operator: "Lt", values: [3] })).toBe(false);
    expect(ok({ key: "/supportedDeploymentTypes", operator: "ContainsAny", values: ["helm", "compose"] })).toBe(true);
    expect(ok({ key: "/supportedDeploymentTypes", operator: "ContainsAll", values: ["helm", "compose"] })).toBe(false);
    expect(ok({ key: "/cpus", operator: "ContainsAny", itemSelector: { matchExpressions: [{ key: "/architecture", operator: "In", values: ["arm64"] }] } })).toBe(true);
    expect(ok({ key: "/cpus", operator: "ContainsAny", itemSelector: { matchExpressions: [{ key: "/architecture", operator: "In", values: ["amd64"] }] } })).toBe(false);
    expect(ok({ key: "lines", operator: "ContainsAll", values: ["a", "b"] }, device({}, { lines: ["a", "b", "c"] }), "labelSelector")).toBe(true);
    expect(ok({ key: "floor", operator: "Gt", values: [2] }, device({}, { floor: 3 }), "labelSelector")).toBe(true);
    // Cannot be judged: kept.
    expect(ok({ key: "/vendor", operator: "Gt", values: [2] })).toBe(true);
    expect(ok({ key: "/vendor", operator: "In" })).toBe(true);
  });
});
