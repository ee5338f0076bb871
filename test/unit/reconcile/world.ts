/**
 * One device for a reconciler test: a real SQLite state file in a temp dir,
 * the simulated engine behind a scripted runtime (failures on cue), a resolver
 * without a package server, and a fake clock driving the retry backoff.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../../src/log.ts";
import { openDatabase } from "../../../src/platform/bun/sqlite.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";
import { type DesiredSet, Reconciler, type StepOutcome } from "../../../src/reconcile/reconciler.ts";
import { RetryBackoff } from "../../../src/reconcile/retry-backoff.ts";
import { StateStore } from "../../../src/store/state-store.ts";
import { parseVerified } from "../../../src/sync/verify-desired.ts";
import { FakeClock } from "../../support/fake-clock.ts";
import { ScriptedRuntime, scriptedResolver } from "../../support/scripted-runtime.ts";

export const POLICY = { baseMs: 10_000, capMs: 600_000 };

/** An ApplicationDeployment; each version points its components at other packages (so its digest differs). */
export function yamlOf(id: string, components: readonly string[], version = "1", profile: "compose" | "helm.v3" = "compose"): string {
  const listed = components
    .map((c) =>
      profile === "compose"
        ? `      - name: ${c}\n        properties: {packageLocation: "https://wfm.test/${id}/${c}-${version}.tar.gz"}`
        : `      - name: ${c}\n        properties: {repository: "oci://charts.test/${c}", revision: "${version}"}`,
    )
    .join("\n");
  return `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: ${id}, applicationId: demo}
  name: app-${id}
spec:
  deploymentProfile:
    type: ${profile}
    components:
${listed}
`;
}

/** The first 8 hex digits of a YAML's digest, as ScriptedRuntime.log() prints them. */
export const short = (yaml: string) => sha256Digest(yaml).slice(7, 15);

export class World {
  readonly dir = mkdtempSync(join(tmpdir(), "reconciler-"));
  readonly clock = new FakeClock();
  readonly store = StateStore.open(openDatabase(join(this.dir, "state.db")), this.clock);
  readonly runtime = new ScriptedRuntime(join(this.dir, "engine"));
  readonly resolve = scriptedResolver(join(this.dir, "resolved"));
  backoff = new RetryBackoff(POLICY, this.clock.now);
  reconciler: Reconciler;
  /** How often the reconciler said a report was journaled. */
  wakes = 0;

  constructor(private readonly opts: { rollback?: boolean } = {}) {
    this.reconciler = this.makeReconciler();
  }

  /** A new reconciler (and backoff) over the same store and engine: what a restart gives. */
  restart(): void {
    this.backoff = new RetryBackoff(POLICY, this.clock.now);
    this.reconciler = this.makeReconciler();
  }

  private makeReconciler(): Reconciler {
    return new Reconciler({
      store: this.store,
      runtime: this.runtime,
      resolve: this.resolve,
      log: silentLogger,
      rollback: this.opts.rollback ?? true,
      workDir: (id) => join(this.dir, "work", id),
      onReport: () => this.wakes++,
      backoff: this.backoff,
    });
  }

  /** The WFM wants these YAMLs (each under manifestVersion `mv`). */
  desired(yamls: readonly string[], mv = 1n): DesiredSet {
    const byId = new Map(yamls.map((y) => {
      const id = /id: ([^,}]+)/.exec(y)![1]!;
      return [id, parseVerified(id, sha256Digest(y), y)] as const;
    }));
    return { byId, manifestVersionOf: () => mv };
  }

  pass(desired: DesiredSet, opts: { signal?: AbortSignal; observe?: boolean; trigger?: string } = {}): Promise<StepOutcome[]> {
    return this.reconciler.reconcile(desired, opts.trigger ?? "new manifest", opts.signal ?? new AbortController().signal, opts.observe ?? false);
  }

  /** The states reported for a deployment, oldest first, as the journal holds them. */
  reports(id: string): string[] {
    return this.store.journal.list("pending").filter((e) => e.deploymentId === id).map((e) => e.state);
  }

  /** The last report journaled for a deployment, parsed. */
  lastReport(id: string): { status: { state: string; error?: { code: string; source: string; message: string } }; components: { name: string; state: string; error?: { code: string; source: string; message: string } }[]; adoptedManifestVersion: number } {
    const entries = this.store.journal.list("pending").filter((e) => e.deploymentId === id);
    return JSON.parse(entries.at(-1)!.body);
  }

  /** What the engine runs for a deployment: component → the deployment digest it was applied for (shortened). */
  async running(id: string): Promise<Record<string, string>> {
    const obs = (await this.runtime.engine.inspect()).find((o) => o.deploymentId === id);
    return Object.fromEntries((obs?.components ?? []).map((c) => [c.name, c.digest!.slice(7, 15)]));
  }

  /** Rows changed on the state database so far: a pass that "writes nothing" leaves it as it was. */
  writes(): number {
    return this.store.db.prepare<{ n: number }>("SELECT total_changes() AS n").get()!.n;
  }

  close(): void {
    this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
