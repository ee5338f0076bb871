import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serviceEnvironment, unitEnvironment } from "../../../build/bench/service-env.ts";

const repoRoot = resolve(import.meta.dir, "../../..");
const read = (file: string) => readFileSync(join(repoRoot, file), "utf8");

describe("the service environment", () => {
  test("Environment= lines are read the way systemd reads them", () => {
    const unit = '[Service]\nEnvironment=A=1 "B=two words"\n#Environment=C=3\nEnvironment=A=4\nExecStart=/bin/true\n';
    expect(unitEnvironment(unit)).toEqual({ A: "4", B: "two words" });
  });

  test("the systemd unit turns the JIT and Bun's GC timer off and delays the allocator's purge", () => {
    expect(serviceEnvironment(repoRoot)).toEqual({ BUN_JSC_useJIT: "0", BUN_GC_TIMER_DISABLE: "1", MIMALLOC_PURGE_DELAY: "1000" });
  });

  // The bench measures what the unit sets; every other way of starting the service must set the same.
  for (const [key, value] of Object.entries(serviceEnvironment(repoRoot))) {
    test(`${key}=${value} is set by the OpenRC and SysV scripts and the Containerfile too`, () => {
      expect(read("init/openrc/margo-agent")).toContain(`export ${key}="\${${key}:-${value}}"`);
      const sysv = read("init/sysv/margo-agent");
      expect(sysv).toContain(`${key}=\${${key}:-${value}}`);
      expect(sysv).toMatch(new RegExp(`^export ${key}$`, "m"));
      expect(read("init/Containerfile")).toMatch(new RegExp(`^ENV ${key}=${value}$`, "m"));
    });
  }
});
