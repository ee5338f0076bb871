/**
 * The rc3 profile's session (docs/protocol.md §9, docs/identity-rc3.md): who
 * the agent is and how every request to the WFM is authenticated.
 *
 * - The X.509-SVID and key come from identity.certFile / identity.keyFile,
 *   provisioned out of band; the agent refuses to start without a usable one
 *   (exactly one client-form spiffe:// URI SAN, key matching, valid now).
 * - The trust bundle comes from wfm.caFile (PEM or a SPIFFE bundle; a fixed
 *   source, re-read when the file changes) or from discovery at
 *   wfm.trustDiscovery (refreshed, cached in the data directory). No trust on
 *   first use: without a bundle nothing is sent (TRUST_BUNDLE_MISSING).
 * - Every request is mutual TLS through one MtlsConnector (TLS 1.3, 1.2 as
 *   fallback), which requires the WFM's SPIFFE ID to be exactly
 *   spiffe://<td>/margo/wfm/<wfm-id> from the agent's own SVID.
 * - Background tasks: the SVID watcher (rotation on disk; the SVID_EXPIRING
 *   warning ahead of notAfter), the bundle refresh, and the capabilities PUT
 *   (at start and whenever the body changes).
 *
 * createRc3Decommission builds the same transport for `margo-agent
 * decommission` (DELETE /api/v1/capabilities/{deviceId}).
 */
import { join, resolve } from "node:path";
import type { BackgroundTask, TaskContext } from "../agent/tasks.ts";
import { BUILD } from "../build-info.ts";
import { collectDevice } from "../capabilities/collect.ts";
import { resolveDeviceId } from "../capabilities/device-facts.ts";
import { putCapabilities } from "../capabilities/report-put.ts";
import { FsView } from "../capabilities/sysfs.ts";
import { identityPath } from "../config/files.ts";
import type { Config } from "../config/schema.ts";
import { loadWfmTls } from "../config/wfm-tls.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";
import type { Logger } from "../log.ts";
import { bunSessionFactory } from "../platform/bun/fetch-session.ts";
import type { Platform } from "../platform/types.ts";
import { FixedBundleSource } from "./rc3-fixed-bundle.ts";
import { rc3Profile } from "../protocol/profiles/rc3/index.ts";
import type { WfmProfile } from "../protocol/profiles/types.ts";
import type { StatusFormat } from "../protocol/status-manifest.ts";
import { WfmClient, type FetchFn, type PostOutcome } from "../protocol/wfm-client.ts";
import { BUNDLE_FILE, TrustBundleStore } from "../trust/bundle-store.ts";
import type { TrustBundle } from "../trust/bundle.ts";
import { MtlsConnector, type SessionFactory } from "../trust/mtls-connector.ts";
import { TrustBundleRefresher } from "../trust/refresher.ts";
import { SvidWatcher } from "../trust/svid-watcher.ts";
import type { Timers } from "../trust/timers.ts";
import { sleep } from "../util/timer.ts";
import type { IdentityView, WfmSession } from "../agent/session.ts";

export const CAPABILITIES_CHECK_INTERVAL_MS = 10 * 60_000;
const CAPABILITIES_RETRY: BackoffPolicy = { baseMs: 30_000, capMs: CAPABILITIES_CHECK_INTERVAL_MS };
/** How often wfm.caFile is stat'ed for a change (a CA rotation by the device's management). */
const BUNDLE_FILE_POLL_MS = 60_000;

export interface Rc3SessionOptions {
  config: Config;
  /** The platform's fetch reaches the MIS (server TLS, verified by the system store plus wfm.trustDiscoveryCaFile). */
  platform: Platform;
  log: Logger;
  /** The mTLS connection pools (default Bun.FetchSession, src/platform/bun/fetch-session.ts). */
  openSession?: SessionFactory;
  /** The MIS fetch (default: platform.fetch with the initial trust); never verified by the bundle. */
  misFetch?: FetchFn;
  /** Tests: a fake /sys, /etc tree for the device id and capabilities. */
  fsRoot?: string;
  capabilitiesIntervalMs?: number;
  capabilitiesRetry?: BackoffPolicy;
  svidPollMs?: number;
  bundleFilePollMs?: number;
  minTlsVersion?: "1.2" | "1.3";
  timers?: Timers;
  random?: () => number;
  userAgent?: string;
}

/** Where the bundle comes from, behind one face: current() and version, as MtlsConnector reads them. */
export interface Rc3Trust {
  readonly kind: "file" | "discovery";
  current(): { bundle: TrustBundle } | undefined;
  readonly version: number;
  /** Problems worth showing (a refused refresh, a refused file change, no bundle yet). */
  problems(): string[];
}

export interface Rc3Session extends WfmSession {
  readonly profile: "rc3";
  /** The profile for the WfmClient (routes, frames). */
  readonly wfmProfile: WfmProfile;
  /** What lifecycle passes to buildStatusManifest for this device. */
  readonly statusFormat: StatusFormat;
  readonly svid: SvidWatcher;
  readonly trust: Rc3Trust;
  readonly connector: MtlsConnector;
  /** Stops what the session started (connection pools); the tasks stop with the Agent. */
  close(): void;
}

interface Transport {
  svid: SvidWatcher;
  trust: Rc3Trust;
  connector: MtlsConnector;
  deviceId: string;
  /** Discovery only: the refresher the trust task runs. */
  refresher?: TrustBundleRefresher;
  fixed?: FixedBundleSource;
}

function required(config: Config, key: "certFile" | "keyFile"): string {
  const file = config.identity[key];
  if (file === null) {
    throw new AgentError("IDENTITY_INVALID", `identity.${key} is required with wfm.profile rc3: the X.509-SVID and its key are provisioned out of band (init/README.md)`, {
      key: `identity.${key}`,
    });
  }
  return identityPath(config, file);
}

/** The SVID, the trust source and the mTLS connector: what the session and decommissioning share. */
async function buildTransport(opts: Rc3SessionOptions, log: Logger): Promise<Transport> {
  const { config } = opts;
  if (config.wfm.profile !== "rc3") throw new AgentError("CONFIG_INVALID", `wfm.profile is ${config.wfm.profile}, not rc3`, { key: "wfm.profile" });
  if (new URL(config.wfm.url).protocol !== "https:") {
    throw new AgentError("CONFIG_INVALID", `wfm.url ${config.wfm.url}: wfm.profile rc3 speaks mutual TLS only, so the URL must be https`, { key: "wfm.url" });
  }
  const certFile = required(config, "certFile");
  const keyFile = required(config, "keyFile");

  let anchors: () => TrustBundle["anchors"] | undefined = () => undefined;
  const svid = new SvidWatcher({
    certFile,
    keyFile,
    log: log.child({ part: "svid" }),
    pollMs: opts.svidPollMs,
    warnBeforeMs: config.identity.expiryWarning,
    timers: opts.timers,
    anchors: () => anchors(),
  });
  // Loads and validates now (IDENTITY_INVALID naming the file); polling is the task's, so stop it until then.
  const loaded = await svid.start();
  svid.stop();
  const deviceId = resolveDeviceId(config, new FsView(opts.fsRoot ?? "/"));

  let trust: Rc3Trust;
  let refresher: TrustBundleRefresher | undefined;
  let fixed: FixedBundleSource | undefined;
  if (config.wfm.caFile !== null) {
    const source = new FixedBundleSource(resolve(config.wfm.caFile), log.child({ part: "trust" }));
    await source.load();
    fixed = source;
    trust = {
      kind: "file",
      current: () => source.current(),
      get version() {
        return source.version;
      },
      problems: () => (source.lastRefusal ? [source.lastRefusal] : []),
    };
  } else if (config.wfm.trustDiscovery !== null) {
    const tlog = log.child({ part: "trust" });
    const store = new TrustBundleStore(join(config.dataDir, BUNDLE_FILE), loaded.spiffeId.trustDomain);
    const cached = await store.load();
    if (cached.problem) tlog.warn({ code: "TRUST_BUNDLE_INVALID", file: store.file }, cached.problem);
    if (cached.loaded) tlog.info({ file: store.file, sequence: store.current()?.bundle.sequence?.toString() ?? null }, "trust bundle: using the cached bundle until discovery answers");
    const misTls = loadWfmTls(config.wfm.trustDiscoveryCaFile, "wfm.trustDiscoveryCaFile");
    const misFetch: FetchFn = opts.misFetch ?? ((url, init) => opts.platform.fetch(url, init, misTls));
    const r = new TrustBundleRefresher({
      store,
      discovery: config.wfm.trustDiscovery,
      fetch: misFetch,
      intervalMs: config.wfm.trustBundleRefresh,
      requestTimeoutMs: config.wfm.requestTimeout,
      timers: opts.timers,
      log: tlog,
    });
    refresher = r;
    trust = {
      kind: "discovery",
      current: () => store.current(),
      get version() {
        return store.version;
      },
      problems: () => {
        const out: string[] = [];
        const status = r.status();
        if (status.lastError) out.push(`trust bundle refresh: ${status.lastError.code}: ${status.lastError.message}`);
        if (!store.current()) out.push("no trust bundle yet: nothing is sent to the WFM until discovery answers (TRUST_BUNDLE_MISSING)");
        return out;
      },
    };
  } else {
    throw new AgentError(
      "TRUST_BUNDLE_MISSING",
      "wfm.profile rc3 needs a trust bundle to verify the WFM: set wfm.caFile (PEM or SPIFFE bundle) or wfm.trustDiscovery (the MIS); there is no trust on first use",
      { key: "wfm.caFile" },
    );
  }
  anchors = () => trust.current()?.bundle.anchors;

  const connector = new MtlsConnector({
    svid,
    bundle: trust,
    openSession: opts.openSession ?? bunSessionFactory,
    tls: { minTlsVersion: opts.minTlsVersion ?? "1.2" },
    timers: opts.timers,
  });
  log.info(
    { profile: "rc3", spiffeId: loaded.spiffeId.id, wfm: loaded.wfm.id, deviceId, trust: trust.kind, url: config.wfm.url },
    "rc3 session: mutual TLS with the SVID; the WFM must be " + loaded.wfm.id,
  );
  return { svid, trust, connector, deviceId, refresher, fixed };
}

/** Resolves when the signal aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
}

function svidTask(svid: SvidWatcher): BackgroundTask {
  return {
    name: "svid-rotation",
    async run(ctx) {
      // Polls both files (rotation) and warns ahead of notAfter (SVID_EXPIRING); see docs/identity-rc3.md.
      await svid.start();
      await aborted(ctx.signal);
      svid.stop();
    },
  };
}

function discoveryTask(refresher: TrustBundleRefresher, trust: Rc3Trust): BackgroundTask {
  return {
    name: "trust-bundle-refresh",
    async run(ctx) {
      const had = trust.current() !== undefined;
      refresher.start();
      // The first bundle makes the WFM reachable: poll now instead of at the next interval.
      if (!had) {
        while (!ctx.signal.aborted && trust.current() === undefined) {
          try {
            await sleep(200, ctx.signal);
          } catch {
            break;
          }
        }
        if (trust.current() !== undefined) ctx.syncNow();
      }
      await aborted(ctx.signal);
      refresher.stop();
    },
  };
}

function bundleFileTask(source: FixedBundleSource, pollMs: number): BackgroundTask {
  return {
    name: "trust-bundle-file",
    async run(ctx) {
      while (!ctx.signal.aborted) {
        try {
          await sleep(pollMs, ctx.signal);
        } catch {
          return;
        }
        await source.checkNow();
      }
    },
  };
}

function capabilitiesTask(opts: Rc3SessionOptions, t: Transport, log: Logger): BackgroundTask {
  const interval = opts.capabilitiesIntervalMs ?? CAPABILITIES_CHECK_INTERVAL_MS;
  const retry = opts.capabilitiesRetry ?? CAPABILITIES_RETRY;
  const once = async (ctx: TaskContext, force: boolean): Promise<boolean> => {
    try {
      const device = await collectDevice(opts.config, ctx.runtime, { fsRoot: opts.fsRoot, log });
      if (!device.properties.supportedDeploymentTypes) {
        log.warn({ code: "ENGINE_NOT_FOUND", runtime: ctx.runtime.name }, "capabilities: no installed runtime can run a deployment now; reporting this device as not hosting workloads");
      }
      const outcome = await putCapabilities({
        client: ctx.client,
        profile: rc3Profile,
        store: ctx.store,
        clientKey: t.svid.current().spiffeId.id,
        deviceId: t.deviceId,
        body: rc3Profile.capabilitiesBody(device),
        force,
        log,
      });
      if (outcome.kind === "unchanged") log.debug({ digest: outcome.digest }, "capabilities unchanged");
      return true;
    } catch (err) {
      const e = asAgentError(err);
      log.error({ ...e.details, code: e.code }, `capabilities report failed: ${e.message}`);
      return false;
    }
  };
  return {
    name: "capabilities",
    async run(ctx) {
      // At start: a PUT even when the body is the one the WFM accepted last run (it may have lost it).
      let force = true;
      let failures = 0;
      while (!ctx.signal.aborted) {
        const ok = await once(ctx, force);
        if (ok) force = false;
        failures = ok ? 0 : failures + 1;
        const delay = ok ? interval : Math.min(interval, backoffDelay(failures - 1, retry, opts.random));
        try {
          await sleep(delay, ctx.signal);
        } catch {
          return;
        }
      }
    },
  };
}

function view(t: Transport): IdentityView {
  const svid = t.svid.current();
  const expiry = t.svid.expiry();
  const warnings: string[] = [];
  if (expiry.state === "expiring") warnings.push(`SVID_EXPIRING: the SVID expires at ${expiry.notAfter.toISOString()}; renew ${svid.certFile} before then`);
  if (expiry.state === "expired") warnings.push(`SVID_EXPIRING: the SVID expired at ${expiry.notAfter.toISOString()}; the WFM refuses it until ${svid.certFile} is renewed`);
  if (t.svid.lastRefusal) warnings.push(`${t.svid.lastRefusal.code}: ${t.svid.lastRefusal.message}`);
  warnings.push(...t.trust.problems());
  return { profile: "rc3", id: svid.spiffeId.id, notAfter: svid.notAfter.toISOString(), warnings };
}

/**
 * The rc3 session. Throws, before anything is sent: IDENTITY_INVALID (no
 * usable SVID or key, naming the file), CA_FILE_INVALID / TRUST_BUNDLE_INVALID
 * (wfm.caFile unreadable or not a bundle), TRUST_BUNDLE_MISSING (no trust
 * source configured), CONFIG_INVALID (not https).
 */
export async function createRc3Session(opts: Rc3SessionOptions): Promise<Rc3Session> {
  const log = opts.log.child({ part: "identity" });
  const t = await buildTransport(opts, log);
  const tasks: BackgroundTask[] = [svidTask(t.svid)];
  if (t.refresher) tasks.push(discoveryTask(t.refresher, t.trust));
  if (t.fixed) tasks.push(bundleFileTask(t.fixed, opts.bundleFilePollMs ?? BUNDLE_FILE_POLL_MS));
  tasks.push(capabilitiesTask(opts, t, log));
  // The rc3 bundle validates SVIDs only: it must never become a CA for other servers (package
  // downloads, registries), which is what wfm.caFile means to the rest of the agent.
  const config: Config = { ...opts.config, wfm: { ...opts.config.wfm, caFile: null } };
  return {
    profile: "rc3",
    wfmProfile: rc3Profile,
    statusFormat: rc3Profile.statusFormat(t.deviceId),
    deviceId: t.deviceId,
    config,
    fetch: t.connector.fetch,
    signer: undefined,
    clientId: () => t.svid.current().spiffeId.id,
    tasks,
    describe: () => view(t),
    svid: t.svid,
    trust: t.trust,
    connector: t.connector,
    close() {
      t.svid.stop();
      t.refresher?.stop();
      t.connector.close();
    },
  };
}

/** The WfmClient the rc3 session's fetch drives (the bootstrap builds the Agent's own the same way). */
export function rc3Client(config: Config, fetch: FetchFn, clientId: () => string, userAgent = `margo-agent/${BUILD.version}`): WfmClient {
  return new WfmClient({ baseUrl: config.wfm.url, profile: rc3Profile, clientId, fetch, requestTimeoutMs: config.wfm.requestTimeout, userAgent });
}

export type DecommissionOutcome =
  | { kind: "removed"; status: number; url: string }
  /** 404 device-not-found: the WFM has no record of this device for this client (already decommissioned). */
  | { kind: "not-found"; url: string; summary: string };

export interface Rc3Decommission {
  readonly deviceId: string;
  readonly spiffeId: string;
  readonly url: string;
  /** DELETE /api/v1/capabilities/{deviceId}. Throws AgentError (IDENTITY_REJECTED, WFM_HTTP_ERROR, WFM_UNREACHABLE, …). */
  run(): Promise<DecommissionOutcome>;
  close(): void;
}

/**
 * Decommissioning (rc3): the same SVID, bundle and mTLS as the session, one
 * DELETE. With discovery and no cached bundle, the bundle is fetched once.
 */
export async function createRc3Decommission(opts: Rc3SessionOptions): Promise<Rc3Decommission> {
  const log = opts.log.child({ part: "decommission" });
  const t = await buildTransport(opts, log);
  if (t.trust.current() === undefined && t.refresher) {
    const first = await t.refresher.refreshNow();
    t.refresher.stop();
    if (first.error && t.trust.current() === undefined) throw first.error;
  }
  const client = rc3Client(opts.config, t.connector.fetch, () => t.svid.current().spiffeId.id, opts.userAgent);
  const url = client.url(rc3Profile.routes(undefined)!.capabilities(t.deviceId));
  return {
    deviceId: t.deviceId,
    spiffeId: t.svid.current().spiffeId.id,
    url,
    async run() {
      const out: PostOutcome = await client.deleteCapabilities(t.deviceId);
      if (out.kind === "accepted") return { kind: "removed", status: out.status, url };
      const p = out.problem;
      if (p.status === 404 && (p.kind === "device-not-found" || p.kind === "other")) return { kind: "not-found", url, summary: p.summary };
      const details = { status: p.status, problemType: p.type };
      if (p.kind === "not-authorized" || p.status === 401 || p.status === 403) throw new AgentError("IDENTITY_REJECTED", `DELETE ${url}: ${rc3Profile.identityRefusal(p)}`, details);
      throw new AgentError("WFM_HTTP_ERROR", `DELETE ${url}: ${p.summary}`, details);
    },
    close() {
      t.refresher?.stop();
      t.connector.close();
    },
  };
}
