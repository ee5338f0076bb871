import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../src/platform/bun/sqlite.ts";
import { AgentError } from "../../src/errors/index.ts";
import { Journal } from "../../src/journal/journal.ts";
import { sha256Digest } from "../../src/protocol/digest.ts";
import { type LifecycleEvent, transition as lifecycleTransition } from "../../src/lifecycle/lifecycle.ts";
import { StateStore } from "../../src/store/state-store.ts";

const clock = { wallMs: () => Date.now(), monoMs: () => performance.now(), bootId: "test-boot" };
const open = (path: string) => StateStore.open(openDatabase(path), clock);

/** Through the lifecycle; `repeat` writes even an identical snapshot again (the lifecycle would skip it), to fill a store. */
function transition(store: StateStore, id: string, state: "pending" | "installing" | "installed" | "failed", yaml = `id: ${id}`, repeat = false) {
  const components = [{ name: "web", state }];
  const subject = { id, name: id, digest: sha256Digest(yaml), yaml, manifestVersion: 7n };
  const event: LifecycleEvent =
    state === "pending" ? { kind: "accepted", components: ["web"] }
    : state === "installed" ? { kind: "installed", components }
    : state === "failed" ? { kind: "failed", components, error: { code: "COMPONENT_EXITED", source: id, message: "exited" }, attempts: 0 }
    : { kind: "progress", components, attempts: 0 };
  const change = lifecycleTransition(repeat ? undefined : store.getDeployment(id), subject, event);
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

/** Runs fn and returns the AgentError it threw. */
function thrown(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return err as AgentError;
  }
  throw new Error("expected an AgentError");
}

/** A store with `n` reports and `n` history rows for two deployments, closed. */
function populated(n: number): string {
  const path = join(mkdtempSync(join(tmpdir(), "store-")), "state.db");
  const s = open(path);
  for (let i = 0; i < n; i++) transition(s, i % 2 ? "a" : "b", "installing", undefined, true);
  s.close();
  return path;
}

describe("opening a damaged state database (issue 10 item 8)", () => {
  const openFile = (path: string) => StateStore.openFile(openDatabase, path, clock);

  test("bytes overwritten in the middle of its pages: STORE_CORRUPT naming the file, before anything writes to it", () => {
    const path = populated(400);
    const size = statSync(path).size;
    const fd = openSync(path, "r+");
    for (let page = 1; page < size / 4096; page++) writeSync(fd, new Uint8Array(64).fill(0xa5), 0, 64, page * 4096 + 2048);
    closeSync(fd);
    const damaged = readFileSync(path);
    const e = thrown(() => openFile(path));
    expect(e.code).toBe("STORE_CORRUPT");
    expect(e.details.path).toBe(path);
    expect(e.message).toContain(`state database ${path} failed its integrity check`);
    // Not migrated, not switched to WAL, not written at all: the evidence is kept for a post-mortem.
    expect(readFileSync(path).equals(damaged)).toBe(true);
  });

  test("a journal index that no longer matches its table, which quick_check passes, is refused (why integrity_check)", () => {
    const path = populated(10); // 10 reports and 10 history rows: the two indexes have the same shape and count
    const probe = new Database(path);
    probe.exec("UPDATE history SET deployment_id = 'h-' || deployment_id"); // so the two indexes differ in content
    const root = (name: string) => (probe.query("SELECT rootpage FROM sqlite_schema WHERE name = ?").get(name) as { rootpage: number }).rootpage;
    const [j, h] = [root("journal_by_deployment"), root("history_by_deployment")];
    const pageSize = (probe.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    probe.close();
    // Swap the two index pages: each btree is well formed, but holds the other table's rows.
    const fd = openSync(path, "r+");
    const a = new Uint8Array(pageSize);
    const b = new Uint8Array(pageSize);
    readSync(fd, a, 0, pageSize, (j - 1) * pageSize);
    readSync(fd, b, 0, pageSize, (h - 1) * pageSize);
    writeSync(fd, b, 0, pageSize, (j - 1) * pageSize);
    writeSync(fd, a, 0, pageSize, (h - 1) * pageSize);
    closeSync(fd);
    const check = new Database(path, { readonly: true });
    expect(check.query("PRAGMA quick_check").get()).toEqual({ quick_check: "ok" });
    check.close();
    const e = thrown(() => openFile(path));
    expect(e.code).toBe("STORE_CORRUPT");
    expect(e.message).toContain("missing from index");
  });

  test("not a database at all: STORE_CORRUPT", () => {
    const path = join(mkdtempSync(join(tmpdir(), "store-")), "state.db");
    writeFileSync(path, "definitely not SQLite ".repeat(400));
    const e = thrown(() => openFile(path));
    expect(e.code).toBe("STORE_CORRUPT");
    expect(e.message).toContain("is damaged: file is not a database");
  });

  test("a file that cannot be opened is STORE_UNAVAILABLE, not corrupt (an operator must not delete it)", () => {
    const path = join(mkdtempSync(join(tmpdir(), "store-")), "state.db");
    mkdirSync(path);
    const e = thrown(() => openFile(path));
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(e.details.path).toBe(path);
  });

  test("an intact store opens and keeps its content", () => {
    const path = populated(10);
    const s = openFile(path);
    expect(new Journal(s.db).counts().pending).toBe(10);
    s.close();
  });
});
