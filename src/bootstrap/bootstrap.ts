/**
 * One start-up for every command that talks to the WFM, in this order
 * (docs/architecture.md, "Start and stop"):
 *
 *   config → platform → data-dir lock → state store (checked) → session (the
 *   profile's identity) → one WFM client → runtime → agent
 *
 * `run` goes all the way; `onboard` stops at the client. Each stage that fails
 * throws a StartFailure naming it, after releasing what the earlier stages took.
 */
import { mkdirSync } from "node:fs";
import { Agent } from "../agent/agent.ts";
import { systemClock } from "../agent/clock.ts";
import { ClockOffset } from "../agent/clock-offset.ts";
import { PullProgress } from "../agent/pull-progress.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { WfmClient } from "../protocol/wfm-client.ts";
import { type DataDirLock, lockDataDir } from "../store/data-dir-lock.ts";
import { StateStore, stateDbPath } from "../store/state-store.ts";
import { chooseRuntime } from "./choose-runtime.ts";
import { packageResolver } from "./resolve-components.ts";
import type { WfmSession } from "../agent/session.ts";
import { StartFailure } from "./start-failure.ts";
import { createRc3Session } from "./rc3-session.ts";
import { createV1Session } from "./v1-session.ts";
import { gitSourceFactory } from "../gitops/index.ts";
import { profileFor } from "../protocol/profiles/index.ts";

export interface Foundation {
  /** The configuration as the session settled it. */
  config: Config;
  platform: Platform;
  log: Logger;
  store: StateStore;
  session: WfmSession;
  client: WfmClient;
  clockOffset: ClockOffset;
  /** Closes the store (if the Agent has not already) and releases the lock. */
  close(): void;
}

export interface FoundationOptions {
  userAgent: string;
  /** Tests: a fake /sys, /dev, /etc tree for capabilities and the device id. */
  fsRoot?: string;
}

export async function openFoundation(config: Config, platform: Platform, log: Logger, opts: FoundationOptions): Promise<Foundation> {
  let lock: DataDirLock | undefined;
  let store: StateStore | undefined;
  const release = () => {
    try {
      store?.close();
    } finally {
      lock?.release();
    }
  };
  const stage = async <T>(name: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      release();
      throw new StartFailure(name, err);
    }
  };
  // First, before anything in dataDir is touched: one agent per data directory.
  lock = await stage("data directory", () => lockDataDir((path) => platform.openDatabase(path), config.dataDir));
  // Then the state database, checked for damage before the runtime or the WFM are involved.
  store = await stage("state database", () => {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    return StateStore.openFile((path) => platform.openDatabase(path), stateDbPath(config.dataDir), systemClock());
  });
  const openedStore = store;
  const session = await stage("device identity", () => createSession(config, platform, log, openedStore, opts));
  const clockOffset = new ClockOffset(log);
  const client = createWfmClient(session, clockOffset, opts.userAgent);
  return { config: session.config, platform, log, store, session, client, clockOffset, close: release };
}

/** The profile's session: how requests are authenticated, and its background tasks. */
async function createSession(config: Config, platform: Platform, log: Logger, store: StateStore, opts: FoundationOptions): Promise<WfmSession> {
  if (config.wfm.profile === "rc3") return createRc3Session({ config, platform, log, fsRoot: opts.fsRoot });
  return createV1Session({ config, platform, log, store, fsRoot: opts.fsRoot });
}

/** The one WFM client of a process. */
export function createWfmClient(session: WfmSession, clockOffset: ClockOffset, userAgent: string): WfmClient {
  return new WfmClient({
    baseUrl: session.config.wfm.url.replace(/\/+$/, ""),
    profile: profileFor(session.profile),
    clientId: () => session.clientId(),
    fetch: session.fetch,
    signer: session.signer,
    requestTimeoutMs: session.config.wfm.requestTimeout,
    userAgent,
    onServerDate: (date) => clockOffset.observe(date),
  });
}

/** The rest of `run`: the runtime, the package resolver and the Agent over the foundation. */
export async function buildAgent(f: Foundation, opts: { simulatedDelayMs?: number } = {}): Promise<Agent> {
  const { config, platform, log } = f;
  const runtime = await chooseRuntime(config, platform, { simulatedDelayMs: opts.simulatedDelayMs ?? 0 });
  const pulls = new PullProgress();
  const engine = await runtime.engineInfo();
  log.info({ runtime: runtime.name, engine }, runtime.name === "simulated" ? "runtime: SIMULATED (no containers are run)" : `runtime: ${runtime.name}`);
  const source = config.desiredState.source === "git" ? await gitSourceFactory(config, platform, f.session.deviceId).catch((err) => { throw new StartFailure("git source", err); }) : undefined;
  try {
    const agent = new Agent({
      config,
      runtime,
      resolve: packageResolver(config, platform, { log, pulls }),
      log,
      store: f.store,
      client: f.client,
      clockOffset: f.clockOffset,
      session: f.session,
      pulls,
      source,
    });
    return agent;
  } catch (err) {
    throw new StartFailure("agent", err);
  }
}
