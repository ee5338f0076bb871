import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/adapter/bun/sqlite.ts";
import { Journal } from "../../src/journal/journal.ts";
import { sha256Digest } from "../../src/protocol/digest.ts";
import { type LifecycleEvent, transition as lifecycleTransition } from "../../src/lifecycle/lifecycle.ts";
import { StateStore } from "../../src/store/state-store.ts";

const clock = { wallMs: () => Date.now(), monoMs: () => performance.now(), bootId: "test-boot" };
const open = (path: string) => StateStore.open(openDatabase(path), clock);

function transition(store: StateStore, id: string, state: "pending" | "installing" | "installed" | "failed", yaml = `id: ${id}`) {
  const components = [{ name: "web", state }];
  const subject = { id, name: id, digest: sha256Digest(yaml), yaml, manifestVersion: 7n };
  const event: LifecycleEvent =
    state === "pending" ? { kind: "accepted", components: ["web"] }
    : state === "installed" ? { kind: "installed", components }
    : state === "failed" ? { kind: "failed", components, error: { code: "COMPONENT_EXITED", source: id, message: "exited" }, attempts: 0 }
    : { kind: "progress", components, attempts: 0 };
  const change = lifecycleTransition(store.getDeployment(id), subject, event);
  if (change) store.apply(change);
}

describe("StateStore", () => {
  test("a restart keeps the applied state, the manifest version and the pending reports", () => {
    const path = join(mkdtempSync(join(tmpdir(), "store-")), "state.db");
    const a = open(path);
    transition(a, "d1", "pending");
    transition(a, "d1", "installing");
    transition(a, "d1", "installed");
    a.commitManifest(18446744073709551615n, '"sha256:abc"');
    a.close();

    const b = open(path);
    expect(b.lastManifestVersion()).toBe(18446744073709551615n);
    expect(b.lastEtag()).toBe('"sha256:abc"');
    const [d] = b.listDeployments();
    expect(d!.state).toBe("installed");
    expect(d!.goodDigest).toBe(d!.digest);
    const journal = new Journal(b.db);
    expect(journal.heads(10).map((e) => e.state)).toEqual(["pending"]);
    expect(journal.list("pending").map((e) => e.state)).toEqual(["pending", "installing", "installed"]);
    expect(b.history("d1").map((h) => h.state)).toEqual(["installed", "installing", "pending"]);
    b.close();
  });

  test("journal heads are the oldest pending report of each deployment", () => {
    const s = open(join(mkdtempSync(join(tmpdir(), "store-")), "state.db"));
    transition(s, "a", "pending");
    transition(s, "b", "pending");
    transition(s, "a", "installing");
    const j = new Journal(s.db);
    const heads = j.heads(10);
    expect(heads.map((h) => [h.deploymentId, h.state])).toEqual([["a", "pending"], ["b", "pending"]]);
    j.ack(heads[0]!.seq);
    j.park(heads[1]!.seq, "422 bad");
    expect(j.heads(10).map((h) => [h.deploymentId, h.state])).toEqual([["a", "installing"]]);
    expect(j.counts()).toEqual({ pending: 1, parked: 1 });
  });

  test("compaction keeps the latest report of each deployment and every failed one", () => {
    const s = open(join(mkdtempSync(join(tmpdir(), "store-")), "state.db"));
    for (let i = 0; i < 5; i++) {
      transition(s, "a", "installing");
      transition(s, "a", i === 2 ? "failed" : "installed");
    }
    transition(s, "b", "pending");
    const j = new Journal(s.db);
    expect(j.counts().pending).toBe(11);
    const dropped = j.compact(3);
    expect(dropped).toBe(8);
    expect(j.list("pending").map((e) => [e.deploymentId, e.state])).toEqual([["a", "failed"], ["a", "installed"], ["b", "pending"]]);
    expect(j.compacted()).toBe(8);
  });
});

test("history keeps the last 50 transitions of a deployment", () => {
  const s = open(join(mkdtempSync(join(tmpdir(), "store-")), "state.db"));
  for (let i = 0; i < 60; i++) transition(s, "a", i % 2 ? "installed" : "installing");
  expect(s.history("a", 100)).toHaveLength(50);
  expect(s.history("a", 1)[0]!.state).toBe("installed");
});
