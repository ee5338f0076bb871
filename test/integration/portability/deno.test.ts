/**
 * The core is portable: the protocol, planning, archive, signing and schedule
 * logic run unchanged under Deno (from npm, a devDependency), using only the
 * platform-neutral APIs. Runtime specifics live in src/platform/bun/.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");
const DENO = resolve(ROOT, "node_modules/.bin/deno");

test.skipIf(!existsSync(DENO) && process.env.CI !== "true")("protocol and reconcile logic run under Deno", async () => {
  const proc = Bun.spawn([DENO, "run", "--quiet", "--no-prompt", "--allow-read", "--allow-env=LOG_TOKENS,LOG_STREAM", "--node-modules-dir=manual", "test/integration/portability/deno-core.ts"], {
    cwd: ROOT,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  expect(JSON.parse(out.trim())).toEqual({
    manifestVersion: "18446744073709551615",
    env: { web: { P: "1" } },
    steps: ["add"],
    exactBody: true,
    digest: "sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:",
    signature: true,
    window: false, // a 24-hour downtime window is in force in any time zone
    backoff: [4000, 7000],
  });
}, 60_000);
