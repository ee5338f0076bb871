/** Files the bench writes: the agent's configuration, ApplicationDeployments, a seeded journal. */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { buildStatusManifest } from "../../src/protocol/status-manifest.ts";
import { PRAGMAS } from "../../src/store/schema.ts";

export interface AgentConfigOptions {
  wfmUrl: string;
  dataDir: string;
  apiPort: number;
  pollInterval: string;
}

export function writeAgentConfig(file: string, o: AgentConfigOptions): void {
  writeFileSync(
    file,
    [
      "wfm:",
      "  profile: v1", // the dev WFM runs --profile v1 here (the agent's default is rc3)
      `  url: ${o.wfmUrl}`,
      "  allowInsecureHttp: true",
      `dataDir: ${o.dataDir}`,
      "runtime: simulated",
      "poll:",
      `  interval: ${o.pollInterval}`,
      "  jitter: 0",
      "packages:",
      "  allowInsecureHttp: true",
      "  reserve: 64MiB",
      "api:",
      `  listen: 127.0.0.1:${o.apiPort}`,
      "log:",
      "  level: info",
      "",
    ].join("\n"),
  );
}

/** The deployment id in examples/hello/hello-world.yaml. */
export const HELLO_ID = "4f1c2a9e-6b1d-4c55-9a3e-0d7b8e2f5a10";

/** examples/hello's ApplicationDeployment under another id and name (same packages). */
export function helloVariant(repoRoot: string, id: string, name: string): string {
  const yaml = readFileSync(join(repoRoot, "examples/hello/hello-world.yaml"), "utf8");
  if (!yaml.includes(HELLO_ID)) throw new Error(`examples/hello/hello-world.yaml no longer has id ${HELLO_ID}`);
  return yaml.replace(HELLO_ID, id).replace(/^  name: hello-world$/m, `  name: ${name}`);
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** state.db with its WAL and shared-memory files. */
export function dbFootprint(db: string): number {
  return fileSize(db) + fileSize(`${db}-wal`) + fileSize(`${db}-shm`);
}

export interface SeedResult {
  deploymentIds: string[];
  /** On-disk growth (db + WAL + shm, after a checkpoint) that the seeded reports caused. */
  bytesAdded: number;
}

/**
 * Appends `count` pending reports, spread round-robin over `deployments`
 * deployment ids, to the journal of an existing (stopped) agent's state.db,
 * with the same INSERT and pragmas the agent uses. One transaction: the
 * agent's own transition-per-transaction writes would take minutes of fsyncs
 * here and end in the same rows once checkpointed.
 */
export function seedJournal(dbFile: string, count: number, deployments: number, manifestVersion: string): SeedResult {
  const db = new Database(dbFile);
  try {
    db.exec(PRAGMAS);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const before = dbFootprint(dbFile);
    const deploymentIds = Array.from({ length: deployments }, () => `bench-drain-${crypto.randomUUID()}`);
    const states = ["pending", "installing", "installed"] as const;
    const insert = db.prepare("INSERT INTO journal (deployment_id, state, body, wall_ms, mono_ms, boot_id) VALUES (?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        const deploymentId = deploymentIds[i % deployments]!;
        const state = states[Math.floor(i / deployments) % states.length]!;
        const body = buildStatusManifest({
          deploymentId,
          manifestVersion,
          components: [
            { name: "web", state },
            { name: "worker", state: state === "installing" ? "pending" : state },
          ],
        });
        insert.run(deploymentId, state, body, Date.now(), performance.now(), "bench-seed");
      }
    })();
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return { deploymentIds, bytesAdded: dbFootprint(dbFile) - before };
  } finally {
    db.close();
  }
}

export interface FloorConfigOptions {
  wfmUrl: string;
  dataDir: string;
  apiPort: number;
  pollIntervalMs: number;
}

/** The floor program's configuration (build/bench/floor.ts); it polls as a client that never onboarded. */
export const FLOOR_CLIENT_ID = "bench-floor";

export function writeFloorConfig(file: string, o: FloorConfigOptions): void {
  writeFileSync(file, [`wfmUrl: ${o.wfmUrl}`, `clientId: ${FLOOR_CLIENT_ID}`, `dataDir: ${o.dataDir}`, `apiPort: ${o.apiPort}`, `pollIntervalMs: ${o.pollIntervalMs}`, ""].join("\n"));
}
