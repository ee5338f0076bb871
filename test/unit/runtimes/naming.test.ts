import { describe, expect, test } from "bun:test";
import { ownershipLabels, projectName } from "../../../runtimes/shared/naming.ts";

describe("projectName", () => {
  test("is stable, prefixed and valid for both engines", () => {
    const a = projectName("6a7f3c2e-0000-4000-8000-000000000001", "web");
    expect(a).toBe(projectName("6a7f3c2e-0000-4000-8000-000000000001", "web"));
    expect(a).toMatch(/^margo-[0-9a-f]{12}-web$/);
  });

  test("sanitises component names and keeps sanitised collisions apart", () => {
    const dotted = projectName("d", "My.App");
    const under = projectName("d", "my-app");
    expect(dotted).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect(dotted).not.toBe(under);
    expect(projectName("d", "..")).toMatch(/^margo-[0-9a-f]{12}-[0-9a-f]{6}$/);
  });

  test("is bounded in length", () => {
    expect(projectName("d", "x".repeat(500)).length).toBeLessThanOrEqual(6 + 13 + 40 + 7);
  });

  test("differs per deployment", () => {
    expect(projectName("a", "web")).not.toBe(projectName("b", "web"));
  });
});

test("ownershipLabels carries deployment, component, digest and the managed-by mark", () => {
  expect(ownershipLabels({ deploymentId: "d1", name: "n", digest: "sha256:ab" }, "web", "sha256:cd")).toEqual({
    "org.margo.managed-by": "margo-agent",
    "org.margo.deployment-id": "d1",
    "org.margo.component": "web",
    "org.margo.digest": "sha256:ab",
    "org.margo.package-digest": "sha256:cd",
  });
});
