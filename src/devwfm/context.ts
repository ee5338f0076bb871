/**
 * The state one dev WFM keeps (persisted counters and clients, the folder's
 * desired state, reports, capabilities, fault switches, and in rc3 its
 * identity and the clients it has seen), shared by every route file through a
 * single object so each can be read on its own.
 */
import path from "node:path";
import type { Logger } from "../log.ts";
import { ClientRegistry } from "./clients.ts";
import { DesiredState, type Generation } from "./desired-state.ts";
import type { DevWfmOptions, DevWfmProfile } from "./options.ts";
import { toRc3Shape } from "./rc3/deployment-shape.ts";
import type { Rc3Identity } from "./rc3/identity.ts";
import { resolveStatePaths } from "./state-dir.ts";
import { loadState, saveState } from "./state-file.ts";
import type { DevCapabilities, DevReport, FaultSpec, RefusedConnection, SeenClient } from "./types.ts";

/** How many refused connections the page keeps. */
const KEPT_REFUSALS = 20;

export interface Rc3State {
  readonly identity: Rc3Identity;
  /** spiffe_refresh_hint of the served bundle, seconds. */
  readonly refreshHintSeconds: number;
  /** By SPIFFE ID. */
  readonly seen: Map<string, SeenClient>;
  /** Newest first. */
  readonly refused: RefusedConnection[];
  /** SPIFFE IDs this WFM answers not-authorized (persisted). */
  readonly retired: Set<string>;
  /** Registered devices: `${spiffeId}\n${deviceId}` → when. */
  readonly devices: Map<string, string>;
  /** `${spiffeId}\n${deploymentId}` of every status report accepted (201 first, 200 after). */
  readonly statusSeen: Set<string>;
  recordRefusal(r: Omit<RefusedConnection, "at" | "count">): void;
  persist(): void;
}

export interface DevWfmContext {
  readonly options: DevWfmOptions;
  readonly profile: DevWfmProfile;
  /** The folder, resolved to an absolute path. */
  readonly dir: string;
  readonly stateDir: string;
  readonly log: Logger;
  readonly now: () => number;
  /** now() as an ISO 8601 timestamp. */
  readonly iso: () => string;
  readonly clients: ClientRegistry;
  readonly desired: DesiredState;
  /** The highest manifestVersion this WFM has ever served (persisted). */
  readonly manifestVersion: () => number;
  /** Present exactly when profile is rc3. */
  readonly rc3: Rc3State | undefined;
  /** Routes and the DevWfm methods replace these; read them at request time. */
  baseUrl: string | undefined;
  faults: FaultSpec;
  reports: DevReport[];
  readonly capabilities: DevCapabilities[];
  /** Scans the folder (with {{WFM_URL}} as baseUrl, else `origin`), logging when the generation changed. */
  refresh(origin: string): Generation;
}

export function createContext(opts: DevWfmOptions, identity?: Rc3Identity): DevWfmContext {
  const profile = opts.profile ?? "v1";
  if (profile === "rc3" && identity === undefined) throw new Error("an rc3 dev WFM needs its identity (startDevWfm loads it from the state dir)");
  const dir = path.resolve(opts.dir);
  const log = opts.log;
  const now = opts.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const { stateDir, stateFile } = resolveStatePaths(opts);
  const persisted = loadState(stateFile);
  const counter = { manifestVersion: persisted.manifestVersion, contentDigest: persisted.contentDigest };
  const retired = new Set(persisted.retired);
  const persist = () => saveState(stateFile, { ...counter, clients: clients.all(), retired: [...retired].sort() });
  const clients = new ClientRegistry(persisted.clients, persist);
  const desired = new DesiredState(dir, counter, persist, now, profile === "rc3" ? toRc3Shape : undefined);

  let rc3: Rc3State | undefined;
  if (identity !== undefined && profile === "rc3") {
    const refused: RefusedConnection[] = [];
    rc3 = {
      identity,
      refreshHintSeconds: opts.rc3?.bundleRefreshHintSeconds ?? 300,
      seen: new Map(),
      refused,
      retired,
      devices: new Map(),
      statusSeen: new Set(),
      persist,
      recordRefusal: (r) => {
        const last = refused[0];
        if (last && last.address === r.address && last.spiffeId === r.spiffeId && last.reason === r.reason) {
          last.count += 1;
          last.at = iso();
          return;
        }
        refused.unshift({ ...r, at: iso(), count: 1 });
        refused.splice(KEPT_REFUSALS);
      },
    };
  }

  const ctx: DevWfmContext = {
    options: opts,
    profile,
    dir,
    stateDir,
    log,
    now,
    iso,
    clients,
    desired,
    manifestVersion: () => counter.manifestVersion,
    rc3,
    baseUrl: opts.baseUrl,
    faults: { ...opts.faults },
    reports: [],
    capabilities: [],
    refresh: (origin) => {
      const before = desired.current()?.manifestVersion;
      const generation = desired.refresh(ctx.baseUrl ?? origin);
      if (generation.manifestVersion !== before) {
        log.info(
          { manifestVersion: generation.manifestVersion, deployments: generation.deployments.map((d) => d.id), skipped: generation.skipped },
          "desired state changed: new manifestVersion",
        );
        for (const s of generation.skipped) log.warn({ file: s.file, reason: s.reason }, "skipping a file that is not a servable ApplicationDeployment");
        for (const d of generation.deployments) if (d.warning) log.warn({ file: d.file, deploymentId: d.id, reason: d.warning }, "serving a deployment the agent will reject");
      }
      return generation;
    },
  };
  return ctx;
}
