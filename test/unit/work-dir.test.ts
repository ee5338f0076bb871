import { expect, test } from "bun:test";
import { deploymentWorkDir } from "../../src/agent/agent.ts";

test("a deployment's work directory is one safe segment under deployments/: '.', '..', '/' and '' are refused", () => {
  expect(deploymentWorkDir("/var/lib/margo", "dep-1")).toBe("/var/lib/margo/deployments/dep-1");
  for (const id of [".", "..", "../x", "a/b", "", "-rf"]) expect(() => deploymentWorkDir("/var/lib/margo", id)).toThrow("not a safe path segment");
});
