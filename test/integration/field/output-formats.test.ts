/**
 * Issue 16 item 11: `-o table|json|yaml` on every read command (status,
 * deployments, journal), table by default. JSON and YAML are the local API's
 * documented views, the same data in both, whether the agent runs or not.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { cli, deploymentYaml, type Field, startAgent, startField, stopAgent, stopField, waitForState, writePackage } from "./harness.ts";

let f: Field;
beforeAll(async () => {
  f = await startField({ runtime: "simulated" });
  writePackage(f, "app", "localhost/margo-test/busybox:1", "sleep 3600");
  writeFileSync(join(f.wfmDir, "out.yaml"), deploymentYaml("out-formats"));
  startAgent(f);
  await waitForState(f, "out-formats", "installed");
  // Each test reads the running agent four times and compares: wait until its polls have settled
  // (the poll after the one that applied answers 304), so a poll between two reads changes nothing
  // they show. On a busy machine that next poll can otherwise land between the reads.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await cli(f, "status", "-o", "json");
    if (r.code === 0 && JSON.parse(r.stdout).status?.poll?.lastOutcome === "not-modified") break;
    if (Date.now() > deadline) throw new Error(`the agent's polls never settled: ${r.stdout}${r.stderr}`);
    await Bun.sleep(200);
  }
}, 60_000);
afterAll(() => stopField(f));

/** Drops what moves between two runs of a command (times, ages, uptime). */
const settled = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (k, x) => (/At$|^since$|^uptimeSeconds$|^ageSeconds$|Ms$|^bytesWrittenSinceStart$|^counts$|^retryInMs$/.test(k) ? undefined : x)));

for (const running of [true, false]) {
  describe(running ? "agent running" : "agent stopped", () => {
    beforeAll(async () => {
      if (!running) expect(await stopAgent(f)).toBe(0);
    });
    const expected = running ? 0 : 4;

    for (const command of [["status"], ["deployments"], ["deployments", "out-formats"], ["journal"]]) {
      test(`${command.join(" ")}: json and yaml carry the same data; table is the default`, async () => {
        const json = await cli(f, ...command, "-o", "json");
        const yaml = await cli(f, ...command, "--output", "yaml");
        const legacy = await cli(f, ...command, "--json");
        const table = await cli(f, ...command);
        for (const r of [json, yaml, legacy, table]) expect(r.code).toBe(expected);
        const data = JSON.parse(json.stdout);
        expect(settled(YAML.parse(yaml.stdout))).toEqual(settled(data));
        expect(settled(JSON.parse(legacy.stdout))).toEqual(settled(data));
        expect(() => JSON.parse(table.stdout)).toThrow();
        expect(yaml.stdout).not.toStartWith("{");
      }, 30_000);
    }

    test("the JSON shapes scripts rely on", async () => {
      const status = JSON.parse((await cli(f, "status", "-o", "json")).stdout);
      expect(status.agentRunning).toBe(running);
      expect(Object.keys(status).sort()).toEqual(running ? ["agentRunning", "deployments", "status"] : ["agentRunning", "deployments", "reason", "stored"]);
      expect(status.deployments[0]).toMatchObject({ id: "out-formats", state: "installed", wanted: true });
      const journal = JSON.parse((await cli(f, "journal", "-o", "json")).stdout);
      expect(Object.keys(journal).sort()).toEqual(["counts", "parked", "pending"]);
      expect(Object.keys(journal.counts).sort()).toEqual(["compacted", "parked", "pending"]);
    }, 30_000);
  });
}

test("an unknown format is a usage error naming the choices", async () => {
  const r = await cli(f, "status", "-o", "xml");
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("-o xml: expected table, json or yaml");
}, 30_000);
