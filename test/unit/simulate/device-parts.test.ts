/**
 * The parts a simulated device has that `run` does not (docs/simulate.md): the
 * in-memory store with uncached statements, the simulated runtime without its
 * engine file and with a failure rate, and the per-device configuration.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedRuntime } from "../../../runtimes/simulated/index.ts";
import { systemClock } from "../../../src/agent/clock.ts";
import { loadConfig } from "../../../src/config/load.ts";
import { bunPlatform } from "../../../src/platform/bun/index.ts";
import { deviceConfig } from "../../../src/simulate/device.ts";
import { deviceNames } from "../../../src/simulate/identities.ts";
import { StateStore } from "../../../src/store/state-store.ts";

describe("StateStore.openInMemory with uncached statements", () => {
  test("the same schema, transactions and journal as a file store", () => {
    const store = StateStore.openInMemory((p) => bunPlatform.openDatabase(p, { cacheStatements: false }), systemClock());
    const next = { id: "d1", name: "n", digest: "sha256:x", yaml: "y", state: "pending" as const, components: [], manifestVersion: "1", attempts: 0, wanted: true };
    store.apply({ deploymentId: "d1", next, state: "pending", report: '{"s":1}' });
    store.apply({ deploymentId: "d1", next: { ...next, state: "installed" as const }, state: "installed", report: '{"s":2}' });
    store.commitManifest(7n, '"e"');
    expect(store.listDeployments().map((d) => d.state)).toEqual(["installed"]);
    expect(store.journal.heads(10).map((e) => e.body)).toEqual(['{"s":1}']);
    expect(store.journal.counts()).toEqual({ pending: 2, parked: 0 });
    expect(store.lastManifestVersion()).toBe(7n);
    expect(store.history("d1").map((h) => h.state)).toEqual(["installed", "pending"]);
    expect(() => store.db.transaction(() => { store.setMeta("etag", "x"); throw new Error("boom"); })).toThrow("boom");
    expect(store.lastEtag()).toBe('"e"');
    store.close();
  });
});

describe("uncached statements: transactions by hand", () => {
  test("commit, rollback, and a nested transaction that fails rolls back only itself", () => {
    const db = bunPlatform.openDatabase(":memory:", { cacheStatements: false });
    db.exec("CREATE TABLE t (v TEXT)");
    const rows = () => db.prepare<{ v: string }>("SELECT v FROM t ORDER BY rowid").all().map((r) => r.v);
    db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run("a"));
    expect(() => db.transaction(() => { db.prepare("INSERT INTO t VALUES (?)").run("b"); throw new Error("boom"); })).toThrow("boom");
    db.transaction(() => {
      db.prepare("INSERT INTO t VALUES (?)").run("c");
      expect(() => db.transaction(() => { db.prepare("INSERT INTO t VALUES (?)").run("d"); throw new Error("inner"); })).toThrow("inner");
      db.transaction(() => db.prepare("INSERT INTO t VALUES (?)").run("e"));
    });
    expect(rows()).toEqual(["a", "c", "e"]);
    db.close();
  });
});

describe("SimulatedRuntime for a fleet", () => {
  const deployment = { deploymentId: "dep-1", name: "dep", digest: `sha256:${"a".repeat(64)}` };
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), "simrt-"));
    const composeFile = join(dir, "compose.yaml");
    writeFileSync(composeFile, "services:\n  app:\n    image: busybox\n");
    const component = { name: "app", composeFile, packageDigest: "sha256:p", env: {}, wait: false, timeoutMs: 1000 };
    return { dir, component, ctx: { signal: new AbortController().signal, workDir: dir } };
  };

  test("persist: false keeps its containers in memory and writes no engine file", async () => {
    const { dir, component, ctx } = setup();
    const rt = new SimulatedRuntime({ dataDir: dir, persist: false });
    await rt.applyComponent(deployment, component, ctx);
    expect((await rt.inspect()).map((o) => o.deploymentId)).toEqual(["dep-1"]);
    expect(existsSync(join(dir, "simulated-engine.json"))).toBe(false);
  });

  test("failureRate: that share of applies fails with COMPONENT_APPLY_FAILED, the rest run", async () => {
    const { dir, component, ctx } = setup();
    const draws = [0.1, 0.9];
    const rt = new SimulatedRuntime({ dataDir: dir, persist: false, failureRate: 0.5, random: () => draws.shift()! });
    await expect(rt.applyComponent(deployment, component, ctx)).rejects.toMatchObject({ code: "COMPONENT_APPLY_FAILED" });
    await rt.applyComponent(deployment, component, ctx);
    expect(rt.container("dep-1", "app")?.state).toBe("running");
  });
});

describe("deviceConfig", () => {
  const base = (profile: string) => loadConfig({ sets: [`wfm.profile=${profile}`, "wfm.url=https://wfm.test:8443", "dataDir=/x", "runtime=simulated"] });

  test("rc3: its own data dir, device id, SVID and bundle; the bundle also verifies the WFM's OCI endpoint", () => {
    const c = deviceConfig(base("rc3"), { name: "sim-00007", dataDir: "/w/sim-00007", svid: { certFile: "/s/c.pem", keyFile: "/s/k.pem", bundleFile: "/s/b.pem" } });
    expect(c).toMatchObject({ dataDir: "/w/sim-00007", device: { id: "sim-00007" }, wfm: { caFile: "/s/b.pem" }, identity: { certFile: "/s/c.pem", keyFile: "/s/k.pem" } });
    expect(c.registries.caFiles).toEqual({ "wfm.test:8443": "/s/b.pem" });
  });

  test("v1: the shared WFM settings; its key is generated in its own data dir", () => {
    const b = base("v1");
    const c = deviceConfig(b, { name: "sim-00001", dataDir: "/w/sim-00001" });
    expect(c.wfm).toEqual(b.wfm);
    expect(c.identity).toEqual(b.identity);
    expect(c.dataDir).toBe("/w/sim-00001");
  });

  test("device names sort in start order", () => {
    expect(deviceNames(3)).toEqual(["sim-00001", "sim-00002", "sim-00003"]);
    expect(deviceNames(123456)[0]).toBe("sim-000001");
  });
});
