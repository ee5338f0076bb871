/**
 * The idle poll's reads (src/platform/counted-db.ts): the writer's StateStore
 * answers the ETag, "anything unsettled?" and "any report waiting?" from memory
 * until its connection writes. Each test makes the answer change behind the
 * cached read and checks that it is seen: a write of any kind, a rolled-back
 * transaction, a write through get(), and a reader's own connection beside
 * the writer (which must never be cached).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LifecycleEvent, transition as lifecycleTransition } from "../../src/lifecycle/lifecycle.ts";
import { openDatabase } from "../../src/platform/bun/sqlite.ts";
import { sha256Digest } from "../../src/protocol/digest.ts";
import { StateStore } from "../../src/store/state-store.ts";

const clock = { wallMs: () => Date.now(), monoMs: () => performance.now(), bootId: "test-boot" };
const fresh = () => join(mkdtempSync(join(tmpdir(), "idle-reads-")), "state.db");
const writer = (path = fresh()) => StateStore.open(openDatabase(path), clock);

function transition(store: StateStore, id: string, state: "pending" | "installed") {
  const yaml = `id: ${id}`;
  const subject = { id, name: id, digest: sha256Digest(yaml), yaml, manifestVersion: 7n };
  const event: LifecycleEvent = state === "pending" ? { kind: "accepted", components: ["web"] } : { kind: "installed", components: [{ name: "web", state }] };
  const change = lifecycleTransition(store.getDeployment(id), subject, event);
  if (change) store.apply(change);
}

describe("the writer's idle reads", () => {
  test("the ETag follows every commit", () => {
    const s = writer();
    expect(s.lastEtag()).toBeUndefined();
    s.commitManifest(1n, '"a"');
    expect(s.lastEtag()).toBe('"a"');
    expect(s.lastEtag()).toBe('"a"');
    s.commitManifest(2n, '"b"');
    expect(s.lastEtag()).toBe('"b"');
    expect(s.lastManifestVersion()).toBe(2n);
    s.close();
  });

  test("unsettled and pending follow the lifecycle and the outbox", () => {
    const s = writer();
    expect(s.hasUnsettled()).toBe(false);
    expect(s.journal.hasPending()).toBe(false);
    transition(s, "d1", "pending");
    expect(s.hasUnsettled()).toBe(true);
    expect(s.journal.hasPending()).toBe(true);
    transition(s, "d1", "installed");
    expect(s.hasUnsettled()).toBe(false);
    for (const e of s.journal.list("pending")) s.journal.ack(e.seq);
    expect(s.journal.hasPending()).toBe(false);
    s.close();
  });

  test("what was read inside a transaction that rolled back does not outlive it", () => {
    const s = writer();
    s.commitManifest(1n, '"a"');
    expect(s.lastEtag()).toBe('"a"');
    expect(() =>
      s.db.transaction(() => {
        s.setMeta("etag", '"inside"');
        expect(s.lastEtag()).toBe('"inside"');
        throw new Error("roll back");
      }),
    ).toThrow("roll back");
    expect(s.lastEtag()).toBe('"a"');
    s.close();
  });

  test("a write run through get() (UPDATE … RETURNING) counts as a write", () => {
    const s = writer();
    s.commitManifest(1n, '"a"');
    expect(s.lastEtag()).toBe('"a"');
    expect(s.db.prepare<{ value: string }>("UPDATE meta SET value = '\"b\"' WHERE key = 'etag' RETURNING value").get()?.value).toBe('"b"');
    expect(s.lastEtag()).toBe('"b"');
    s.db.exec("UPDATE meta SET value = '\"c\"' WHERE key = 'etag'");
    expect(s.lastEtag()).toBe('"c"');
    s.close();
  });

  test("a read-only store beside the writer sees each of its changes (never cached)", () => {
    const path = fresh();
    const w = writer(path);
    w.commitManifest(1n, '"a"');
    const r = StateStore.open(openDatabase(path, { readonly: true }), clock, { readonly: true });
    expect(r.lastEtag()).toBe('"a"');
    expect(r.journal.hasPending()).toBe(false);
    w.commitManifest(2n, '"b"');
    transition(w, "d1", "pending");
    expect(r.lastEtag()).toBe('"b"');
    expect(r.hasUnsettled()).toBe(true);
    expect(r.journal.hasPending()).toBe(true);
    r.close();
    w.close();
  });
});
