/**
 * The v1 profile's session (docs/protocol.md §1–3): the device identity, the
 * signer for every request, the root CA (trust on first use, when allowed),
 * and one background task the Agent runs: onboarding, then the capabilities
 * report kept up to date. Onboarding may wait hours for an operator's
 * approval; nothing in the task ever throws: every failure is logged with its
 * code and retried.
 *
 * A WFM restored from a backup, or reset, no longer knows the clientId it gave
 * (issue 16): it answers 401/403 to every signed request. The session sees
 * those answers on the client's routes (client-refusal.ts), shows them
 * (describe(): the local API and `margo-agent status`), and once they have
 * lasted identity.reonboardAfter with nothing accepted in between, forgets the
 * stored clientId and onboards again with the same key and certificate. A
 * clientId set in the configuration (wfm.clientId) is never forgotten.
 */
import { mkdirSync } from "node:fs";
import type { RuntimeAdapter } from "../../runtimes/types.ts";
import type { BackgroundTask, TaskContext } from "../agent/tasks.ts";
import { collectCapabilities } from "../capabilities/collect.ts";
import { resolveDeviceId } from "../capabilities/device-facts.ts";
import { reportCapabilities } from "../capabilities/report.ts";
import { FsView } from "../capabilities/sysfs.ts";
import type { Config } from "../config/schema.ts";
import { loadWfmTls, type WfmTls } from "../config/wfm-tls.ts";
import { asAgentError } from "../errors/index.ts";
import { loadOrCreateIdentity, type DeviceIdentity } from "../identity/load-or-create.ts";
import { createRequestSigner, keyIdFor } from "../identity/request-signer.ts";
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";
import type { Logger } from "../log.ts";
import { CLIENT_ID_META, ensureOnboarded, sleep, type MetaStore } from "../onboarding/ensure-onboarded.ts";
import { ensureTrustedCa } from "../onboarding/trust-on-first-use.ts";
import type { Platform } from "../platform/types.ts";
import type { RequestSigner } from "../protocol/request-signer.ts";
import type { FetchFn, WfmClient } from "../protocol/wfm-client.ts";
import { V1_STATUS_FORMAT } from "../protocol/status-manifest.ts";
import type { IdentityView, WfmSession } from "../agent/session.ts";
import { after } from "../util/timer.ts";
import { ClientRefusal } from "./client-refusal.ts";
import { META } from "../store/meta-keys.ts";

export const CAPABILITIES_CHECK_INTERVAL_MS = 10 * 60_000;
/** After a failed capabilities report: retry sooner than the interval, backing off from this. */
const CAPABILITIES_RETRY: BackoffPolicy = { baseMs: 30_000, capMs: CAPABILITIES_CHECK_INTERVAL_MS };

/**
 * Loads the device key and certificate (provisioned via identity.keyFile/certFile,
 * or generated in dataDir on first start, key 0600). Logs the thumbprint and the
 * warnings, never key material. Throws IDENTITY_INVALID naming the file at fault.
 */
export async function loadDeviceIdentity(config: Config, log: Logger, fsRoot = "/"): Promise<{ identity: DeviceIdentity; deviceId: string }> {
  const deviceId = resolveDeviceId(config, new FsView(fsRoot));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const identity = await loadOrCreateIdentity({
    dir: config.dataDir,
    keyFile: config.identity.keyFile ?? undefined,
    certFile: config.identity.certFile ?? undefined,
    deviceId,
  });
  for (const warning of identity.warnings) log.warn({ code: "IDENTITY_INVALID", certFile: identity.certFile }, `device identity: ${warning}`);
  log.info(
    { deviceId, thumbprint: identity.thumbprint, certFile: identity.certFile, alg: identity.alg, generated: identity.generated },
    identity.generated ? "device identity: generated a new key and self-signed certificate" : "device identity loaded",
  );
  return { identity, deviceId };
}

/**
 * The platform's fetch, trusting `caFile` beside the system store. The file is
 * read once (src/config/wfm-tls.ts), not per request; throws CA_FILE_INVALID
 * naming it when it is missing or not PEM.
 */
export function wfmFetch(platform: Platform, caFile: string | null): FetchFn {
  const tls = loadWfmTls(caFile);
  return (url, init) => platform.fetch(url, init, tls);
}

export interface V1SessionOptions {
  config: Config;
  platform: Platform;
  log: Logger;
  /** The state store, already open: a stored clientId is used from the first request. */
  store: MetaStore;
  /** Tests: fake /sys, /dev, /etc tree for capabilities and the device id. */
  fsRoot?: string;
  capabilitiesIntervalMs?: number;
  onboardingBackoff?: BackoffPolicy;
  capabilitiesRetry?: BackoffPolicy;
  random?: () => number;
}

export interface V1Session extends WfmSession {
  readonly profile: "v1";
  readonly identity: DeviceIdentity;
  /** The CA file the WFM client trusts: wfm.caFile, or the trust-on-first-use one; null = system store only. */
  readonly caFile: string | null;
  /** caFile's content, read and checked once (undefined: system store only). */
  readonly tls: WfmTls | undefined;
  /** Resolves when onboarding and the first capabilities report attempt are over (or the task stopped). */
  settled(): Promise<void>;
  /** Collects the capabilities now and sends them when they changed (e.g. an engine was installed). Never throws. */
  checkCapabilities(): Promise<void>;
}

/** Loads the identity and the CA (throws IDENTITY_INVALID / CA_FILE_INVALID naming the file); starts nothing. */
export async function createV1Session(opts: V1SessionOptions): Promise<V1Session> {
  const { log, platform, store } = opts;
  const ilog = log.child({ part: "identity" });
  const { identity, deviceId } = await loadDeviceIdentity(opts.config, ilog, opts.fsRoot);
  const caFile = await ensureTrustedCa({ config: opts.config, platform, log: ilog });
  const config: Config = { ...opts.config, wfm: { ...opts.config.wfm, caFile } };
  const tls = loadWfmTls(caFile, opts.config.wfm.caFile ? "wfm.caFile" : "wfm.trustOnFirstUse (the CA kept in dataDir)");

  // The one place the clientId is resolved: the configuration, else what onboarding stored.
  const configured = config.wfm.clientId ?? undefined;
  let known: string | undefined = configured;
  const clientId = (): string | undefined => {
    if (known) return known;
    try {
      known = store.getMeta(CLIENT_ID_META) || undefined;
    } catch {
      // The store is closed while the agent stops: no clientId to offer any more.
    }
    return known;
  };
  const signer = createRequestSigner(identity, keyIdFor(identity, clientId));
  const reonboardAfterMs = configured ? 0 : config.identity.reonboardAfter;
  const refusal = new ClientRefusal();

  /** Every WFM answer passes here: 401/403 on this client's routes is a refusal, anything accepted there ends it. */
  const observedFetch: FetchFn = async (url, init) => {
    const res = await platform.fetch(url, init, tls);
    const id = clientId();
    if (id && new URL(url).pathname.includes(`/api/v1/clients/${encodeURIComponent(id)}/`)) {
      if (res.status === 401 || res.status === 403) {
        // What the WFM said is taken from the body as its reader reads it (never read twice: it may not end).
        refusal.refused(id, res.status, "");
        return withBodyPrefix(res, REFUSAL_TEXT_BYTES, (text) => refusal.refused(id, res.status, said(text)));
      }
      if (res.ok || res.status === 304) refusal.accepted(id);
    }
    return res;
  };

  let ctxRef: TaskContext | undefined;
  let settle!: () => void;
  const settledPromise = new Promise<void>((resolve) => (settle = resolve));
  let chain: Promise<unknown> = Promise.resolve();

  /** One capabilities check; true when the WFM has the current body. Serialised: never two reports at once. */
  const checkOnce = (): Promise<boolean> => {
    const run = chain.then(async () => {
      const ctx = ctxRef;
      const id = clientId();
      if (!ctx || !id) return false;
      try {
        const manifest = await collectCapabilities(config, ctx.runtime, { fsRoot: opts.fsRoot, log: ilog });
        if (!manifest.properties.supportedDeploymentTypes) {
          ilog.warn({ code: "ENGINE_NOT_FOUND", runtime: ctx.runtime.name }, "capabilities: no installed runtime can run a deployment now; reporting this device as not hosting workloads");
        }
        const outcome = await reportCapabilities({ client: ctx.client, store: ctx.store, clientId: id, manifest, log: ilog });
        if (outcome.kind === "unchanged") ilog.debug({ digest: outcome.digest }, "capabilities unchanged");
        return true;
      } catch (err) {
        const e = asAgentError(err);
        ilog.error({ ...e.details, code: e.code }, `capabilities report failed: ${e.message}`);
        return false;
      }
    });
    chain = run;
    return run;
  };

  const onboardingAndCapabilities: BackgroundTask = {
    name: "v1 onboarding and capabilities",
    async run(ctx) {
      ctxRef = ctx;
      const { signal } = ctx;
      try {
        if (!configured && !clientId()) {
          try {
            known = await ensureOnboarded({ client: ctx.client, identity, store: ctx.store, log: ilog, signal, backoff: opts.onboardingBackoff, random: opts.random });
          } catch (err) {
            if (!signal.aborted) ilog.error({ code: asAgentError(err).code }, `onboarding stopped: ${asAgentError(err).message}`);
            return;
          }
          ctx.syncNow();
        } else {
          ilog.info({ clientId: clientId(), source: configured ? "config wfm.clientId" : "state store" }, "already onboarded");
        }
        const interval = opts.capabilitiesIntervalMs ?? CAPABILITIES_CHECK_INTERVAL_MS;
        const retry = opts.capabilitiesRetry ?? CAPABILITIES_RETRY;
        let failures = 0;
        // A refusal starting wakes the loop, so the re-onboarding deadline is kept however long the sleep.
        let wake: (() => void) | undefined;
        refusal.onStart(() => wake?.());
        while (!signal.aborted) {
          const due = refusal.dueInMs(reonboardAfterMs);
          if (due !== undefined && due <= 0) {
            if (!(await reonboard(ctx))) return;
            failures = 0;
          }
          const ok = await checkOnce();
          settle();
          failures = ok ? 0 : failures + 1;
          const delay = ok ? interval : Math.min(interval, backoffDelay(failures - 1, retry, opts.random));
          const untilReonboard = refusal.dueInMs(reonboardAfterMs);
          try {
            await wakeableSleep(untilReonboard === undefined ? delay : Math.max(0, Math.min(delay, untilReonboard)), signal, (w) => (wake = w));
          } catch {
            return;
          }
        }
      } finally {
        settle();
      }
    },
  };

  /** Forgets the clientId the WFM no longer knows and onboards again (same key and certificate). */
  const reonboard = async (ctx: TaskContext): Promise<boolean> => {
    const old = known;
    const view = refusal.view(reonboardAfterMs);
    ilog.warn(
      { code: "IDENTITY_REJECTED", clientId: old, refusedSince: view?.since, status: view?.status },
      `the WFM has refused clientId ${old} since ${view?.since} (${view?.status} ${view?.detail}); it no longer knows this device (restored from a backup or reset?): onboarding again (identity.reonboardAfter)`,
    );
    ctx.store.setMeta(CLIENT_ID_META, "");
    // A new client relationship starts a new manifestVersion sequence: a WFM restored from a backup
    // counts from where the backup was, and its desired state would be refused as a rollback forever.
    // The WFM is still the one TLS verified; the workloads stay until its desired state says otherwise.
    ctx.store.setMeta(META.manifestVersion, "0");
    ctx.store.setMeta(META.etag, "");
    // Nor does it have this device's capabilities: they are sent anew (POST) after onboarding.
    ctx.store.setMeta(META.capabilitiesClientId, "");
    known = undefined;
    refusal.reset();
    try {
      known = await ensureOnboarded({ client: ctx.client, identity, store: ctx.store, log: ilog, signal: ctx.signal, backoff: opts.onboardingBackoff, random: opts.random });
    } catch (err) {
      if (!ctx.signal.aborted) ilog.error({ code: asAgentError(err).code }, `onboarding again stopped: ${asAgentError(err).message}`);
      return false;
    }
    ilog.info({ clientId: known, previous: old }, `onboarded again: the WFM assigned clientId ${known}`);
    ctx.syncNow();
    return true;
  };

  return {
    profile: "v1",
    deviceId,
    statusFormat: V1_STATUS_FORMAT,
    config,
    fetch: observedFetch,
    signer,
    clientId,
    tasks: [onboardingAndCapabilities],
    identity,
    caFile,
    tls,
    describe(): IdentityView {
      const warnings = [...identity.warnings];
      if (!clientId()) warnings.push("not onboarded yet (waiting for the WFM to approve this device)");
      const refused = refusal.view(reonboardAfterMs);
      if (refused) {
        const next = refused.reonboardAt
          ? `the agent onboards again at ${refused.reonboardAt} (identity.reonboardAfter)`
          : configured
            ? "wfm.clientId is set in the configuration: correct it, or register this device at the WFM"
            : "re-onboarding is off (identity.reonboardAfter: 0)";
        warnings.push(`the WFM refuses clientId ${refused.clientId} since ${refused.since} (${refused.status}: ${refused.detail}): it may not know this device any more (restored from a backup or reset); ${next}`);
      }
      return { profile: "v1", id: identity.thumbprint, warnings, ...(refused ? { refused } : {}) };
    },
    settled: () => settledPromise,
    async checkCapabilities() {
      await checkOnce();
    },
  };
}

/** What a refusing WFM said: a problem's detail or title, else the body, on one short line. */
function said(text: string): string {
  try {
    const p = JSON.parse(text) as { detail?: unknown; title?: unknown; error?: unknown };
    const line = [p.title, p.detail ?? p.error].filter((x) => typeof x === "string").join(": ");
    if (line) return line.slice(0, 300);
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 300) || "no body";
}

/** Sleeps `ms` (any length), or less when woken; rejects when the signal aborts. */
function wakeableSleep(ms: number, signal: AbortSignal, setWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      timer.cancel();
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      timer.cancel();
      reject(signal.reason);
    };
    const timer = after(ms, done);
    signal.addEventListener("abort", onAbort, { once: true });
    setWake(done);
  });
}

/** Enough of a refusal's body to say what the WFM said. */
const REFUSAL_TEXT_BYTES = 2048;

/**
 * The same answer, its body passed through unchanged; `onPrefix` gets its first
 * `max` bytes as text once they have been read, or once the reader stopped
 * (ended or cancelled). Nothing more is buffered: a body that never ends is
 * read only as far as its reader reads it (INV-BOUND-1).
 */
function withBodyPrefix(res: Response, max: number, onPrefix: (text: string) => void): Response {
  if (!res.body) {
    onPrefix("");
    return res;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder("utf-8", { fatal: false });
  let text = "";
  let seen = 0;
  let told = false;
  const tell = () => {
    if (!told) {
      told = true;
      onPrefix(text);
    }
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        tell();
        controller.error(err);
        return;
      }
      if (chunk.done) {
        tell();
        controller.close();
        return;
      }
      if (seen < max) {
        const part = chunk.value.subarray(0, max - seen);
        seen += part.byteLength;
        text += decoder.decode(part, { stream: seen < max });
        if (seen >= max) tell();
      }
      controller.enqueue(chunk.value);
    },
    cancel(reason) {
      tell();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
