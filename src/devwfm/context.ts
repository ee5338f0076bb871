/**
 * The state one dev WFM keeps (persisted counters and clients, the folder's
 * desired state, reports, capabilities, fault switches), shared by every route
 * file through a single object so each can be read on its own.
 */
import path from "node:path";
import type { Logger } from "../log.ts";
import { ClientRegistry } from "./clients.ts";
import { DesiredState, type Generation } from "./desired-state.ts";
import type { DevWfmOptions } from "./options.ts";
import { loadState, saveState } from "./state-file.ts";
import type { DevCapabilities, DevReport, FaultSpec } from "./types.ts";

export interface DevWfmContext {
  readonly options: DevWfmOptions;
  /** The folder, resolved to an absolute path. */
  readonly dir: string;
  readonly log: Logger;
  readonly now: () => number;
  /** now() as an ISO 8601 timestamp. */
  readonly iso: () => string;
  readonly clients: ClientRegistry;
  readonly desired: DesiredState;
  /** Routes and the DevWfm methods replace these; read them at request time. */
  baseUrl: string | undefined;
  faults: FaultSpec;
  reports: DevReport[];
  readonly capabilities: DevCapabilities[];
  /** Scans the folder (with {{WFM_URL}} as baseUrl, else `origin`), logging when the generation changed. */
  refresh(origin: string): Generation;
}

export function createContext(opts: DevWfmOptions): DevWfmContext {
  const dir = path.resolve(opts.dir);
  const log = opts.log;
  const now = opts.now ?? Date.now;
  const stateFile = opts.stateFile ?? path.join(dir, ".dev-wfm", "state.json");
  const persisted = loadState(stateFile);
  const counter = { manifestVersion: persisted.manifestVersion, contentDigest: persisted.contentDigest };
  const persist = () => saveState(stateFile, { ...counter, clients: clients.all() });
  const clients = new ClientRegistry(persisted.clients, persist);
  const desired = new DesiredState(dir, counter, persist, now);

  const ctx: DevWfmContext = {
    options: opts,
    dir,
    log,
    now,
    iso: () => new Date(now()).toISOString(),
    clients,
    desired,
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
