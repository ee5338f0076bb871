import { expect, test } from "bun:test";
import { createRuntime } from "../../../runtimes/detect.ts";
import type { Platform, ProcessResult } from "../../../src/platform/types.ts";

/** A run() that answers from a table: which binaries "exist" on this fake machine. */
function fakeRun(answers: Record<string, string>): Pick<Platform, "run"> {
  return {
    run: async (argv): Promise<ProcessResult> => {
      const key = argv.slice(0, 2).join(" ");
      const out = answers[key];
      return out === undefined ? { code: 127, stdout: "", stderr: "not found", killed: false } : { code: 0, stdout: out, stderr: "", killed: false };
    },
  };
}

test("auto prefers podman, then docker, else null; simulated is null", async () => {
  const runDir = "/tmp/x";
  expect((await createRuntime("auto", { platform: fakeRun({ "docker-compose version": "1.29.2", "podman version": "4.3.1", "docker version": "20.10" }), runDir }))?.name).toBe("podman");
  expect((await createRuntime("auto", { platform: fakeRun({ "docker compose": "2.20.0", "docker version": "24.0" }), runDir }))?.name).toBe("compose");
  expect(await createRuntime("auto", { platform: fakeRun({ "podman version": "4.3.1" }), runDir })).toBeNull();
  expect(await createRuntime("simulated", { platform: fakeRun({}), runDir })).toBeNull();
  expect((await createRuntime("compose", { platform: fakeRun({}), runDir }))?.name).toBe("compose");
});
