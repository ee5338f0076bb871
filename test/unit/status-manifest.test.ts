import { describe, expect, test } from "bun:test";
import { buildStatusManifest } from "../../src/protocol/status-manifest.ts";
import { overallState } from "../../src/model/states.ts";
import { assertValid } from "../support/openapi.ts";

describe("DeploymentStatusManifest", () => {
  test("valid against the OpenAPI schema, one entry per component, exact manifestVersion", () => {
    const body = buildStatusManifest({
      deploymentId: "a3e2f5dc",
      manifestVersion: 18446744073709551615n,
      components: [
        { name: "web", state: "installed" },
        { name: "db", state: "installing" },
      ],
    });
    expect(body).toContain('"adoptedManifestVersion":18446744073709551615');
    const json = JSON.parse(body);
    assertValid("DeploymentStatusManifest", json);
    expect(json.status).toEqual({ state: "installing" });
    expect(json.components).toHaveLength(2);
  });

  test("error appears only with failed", () => {
    const error = { code: "IMAGE_NOT_FOUND", source: "hello", message: "image x not found" };
    const failed = JSON.parse(buildStatusManifest({ deploymentId: "d", manifestVersion: 3n, components: [{ name: "web", state: "failed", error: { ...error, source: "web" } }], error }));
    assertValid("DeploymentStatusManifest", failed);
    expect(failed.status.error).toEqual(error);
    expect(failed.components[0].error.source).toBe("web");
    const ok = JSON.parse(buildStatusManifest({ deploymentId: "d", manifestVersion: 3n, components: [{ name: "web", state: "installed" }], error }));
    expect(ok.status.error).toBeUndefined();
  });

  test("overall state is the most severe component state", () => {
    expect(overallState([{ name: "a", state: "installed" }, { name: "b", state: "pending" }])).toBe("pending");
    expect(overallState([{ name: "a", state: "installing" }, { name: "b", state: "failed" }])).toBe("failed");
    expect(overallState([{ name: "a", state: "removing" }, { name: "b", state: "installing" }])).toBe("removing");
    expect(overallState([{ name: "a", state: "removed" }])).toBe("removed");
    expect(overallState([], "pending")).toBe("pending");
  });
});
