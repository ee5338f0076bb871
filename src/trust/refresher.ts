/**
 * Keeps the trust bundle fresh (docs/identity-rc3.md, "Refresh"): discovery
 * (when configured), then the bundle, then the store's rules (replace, no
 * regression). The cadence is the bundle's spiffe_refresh_hint, else the
 * configured interval, both clamped to [minIntervalMs, maxIntervalMs]. HTTP
 * caching only makes a refresh cheap (If-None-Match → 304): Cache-Control and
 * Expires are never read, so they cannot postpone one. While the MIS is
 * unreachable the held bundle stays in use and the fetch is retried with
 * backoff (never slower than the normal cadence).
 *
 * The Agent owns one instance: start() at boot, stop() at shutdown.
 */
import { AgentError, asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { TrustBundleStore } from "./bundle-store.ts";
import { discoveryUrl, fetchBundle, fetchDiscovery, requireHttps, type FetchFn } from "./discovery.ts";
import { systemTimers, type Timers } from "./timers.ts";

export const DEFAULT_MIN_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_INTERVAL_MS = 24 * 3600_000;
export const DEFAULT_RETRY_BASE_MS = 30_000;

export interface TrustRefresherOptions {
  store: TrustBundleStore;
  /** wfm.trustDiscovery: an https MIS origin, or the discovery document's own URL. */
  discovery?: string;
  /** A bundle URI configured directly (no discovery). Exactly one of the two. */
  bundleUri?: string;
  /** Verifies the MIS by the initial trust (system store / configured CA), never by the bundle. */
  fetch: FetchFn;
  /** Cadence when the bundle has no spiffe_refresh_hint (wfm.trustBundleRefresh). */
  intervalMs: number;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** First retry after a failed fetch; doubles up to the normal cadence. */
  retryBaseMs?: number;
  requestTimeoutMs?: number;
  timers?: Timers;
  log: Logger;
}

export type RefreshKind = "replaced" | "unchanged" | "not-modified" | "refused" | "unreachable";

export interface RefreshOutcome {
  kind: RefreshKind;
  error?: AgentError;
  /** Delay until the next scheduled refresh. */
  nextInMs: number;
}

export interface RefresherStatus {
  lastAt: string | null;
  lastOutcome: RefreshKind | null;
  lastError: { code: string; message: string } | null;
  nextAt: string | null;
  failures: number;
  bundleUri: string | null;
}

export class TrustBundleRefresher {
  readonly #opts: TrustRefresherOptions;
  readonly #timers: Timers;
  readonly #discovery: URL | undefined;
  #bundleUri: URL | undefined;
  #discoveryEtag: string | undefined;
  #timer: unknown;
  #running: Promise<RefreshOutcome> | undefined;
  #started = false;
  #failures = 0;
  #status: RefresherStatus = { lastAt: null, lastOutcome: null, lastError: null, nextAt: null, failures: 0, bundleUri: null };

  constructor(opts: TrustRefresherOptions) {
    if ((opts.discovery === undefined) === (opts.bundleUri === undefined)) {
      throw new Error("TrustBundleRefresher: give exactly one of discovery and bundleUri");
    }
    this.#opts = opts;
    this.#timers = opts.timers ?? systemTimers;
    this.#discovery = opts.discovery === undefined ? undefined : discoveryUrl(opts.discovery);
    this.#bundleUri = opts.bundleUri === undefined ? undefined : requireHttps(opts.bundleUri, "trust bundle URI");
    this.#status.bundleUri = this.#bundleUri?.href ?? null;
  }

  /** Schedules the first refresh now, then keeps the cadence until stop(). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  stop(): void {
    this.#started = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#status.nextAt = null;
  }

  status(): RefresherStatus {
    return { ...this.#status, lastError: this.#status.lastError && { ...this.#status.lastError } };
  }

  /** The normal cadence: the held bundle's hint, else the configured interval, clamped. */
  cadenceMs(): number {
    const hint = this.#opts.store.current()?.bundle.refreshHintSeconds;
    const wanted = hint === undefined ? this.#opts.intervalMs : hint * 1000;
    const min = this.#opts.minIntervalMs ?? DEFAULT_MIN_INTERVAL_MS;
    const max = this.#opts.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS;
    return Math.min(max, Math.max(min, wanted));
  }

  /** Refreshes now (a run already under way is shared) and reschedules after it when started. */
  refreshNow(): Promise<RefreshOutcome> {
    this.#running ??= this.#refresh().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(ms: number): void {
    if (!this.#started) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#status.nextAt = new Date(this.#timers.now() + ms).toISOString();
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.refreshNow();
    }, ms);
  }

  async #refresh(): Promise<RefreshOutcome> {
    const log = this.#opts.log;
    let outcome: RefreshOutcome;
    try {
      const kind = await this.#fetchAndOffer();
      this.#failures = 0;
      outcome = { kind, nextInMs: this.cadenceMs() };
    } catch (err) {
      const error = asAgentError(err);
      const kind: RefreshKind = error.code === "TRUST_BUNDLE_UNREACHABLE" ? "unreachable" : "refused";
      this.#failures++;
      // Without any bundle the agent cannot talk to its WFM, so a refusal is retried as eagerly as an outage.
      const retry = kind === "unreachable" || this.#opts.store.current() === undefined;
      const base = this.#opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
      const nextInMs = retry ? Math.min(this.cadenceMs(), base * 2 ** Math.min(this.#failures - 1, 20)) : this.cadenceMs();
      outcome = { kind, error, nextInMs };
      const held = this.#opts.store.current();
      log[kind === "refused" ? "error" : "warn"](
        { code: error.code, failures: this.#failures, retryInMs: nextInMs, heldSequence: held?.bundle.sequence?.toString() ?? null, heldSince: held?.acceptedAt ?? null },
        held ? `trust bundle refresh: ${error.message}; still using the held bundle` : `trust bundle refresh: ${error.message}; no bundle held yet`,
      );
    }
    this.#status = {
      ...this.#status,
      lastAt: new Date(this.#timers.now()).toISOString(),
      lastOutcome: outcome.kind,
      lastError: outcome.error ? { code: outcome.error.code, message: outcome.error.message } : null,
      failures: this.#failures,
      bundleUri: this.#bundleUri?.href ?? null,
    };
    this.#schedule(outcome.nextInMs);
    return outcome;
  }

  async #fetchAndOffer(): Promise<Exclude<RefreshKind, "refused" | "unreachable">> {
    const { store, log } = this.#opts;
    const timeoutMs = this.#opts.requestTimeoutMs;
    if (this.#discovery !== undefined) {
      const doc = await fetchDiscovery(this.#opts.fetch, this.#discovery, {
        etag: this.#bundleUri ? this.#discoveryEtag : undefined,
        expectTrustDomain: store.trustDomain,
        timeoutMs,
      });
      if (doc.status === "ok") {
        if (this.#bundleUri !== undefined && this.#bundleUri.href !== doc.value.trustBundleUri.href) {
          log.info({ from: this.#bundleUri.href, to: doc.value.trustBundleUri.href }, "trust discovery: the bundle moved");
        }
        this.#bundleUri = doc.value.trustBundleUri;
        this.#discoveryEtag = doc.etag;
      }
    }
    const uri = this.#bundleUri!;
    const held = store.current();
    const got = await fetchBundle(this.#opts.fetch, uri, { etag: held?.source === uri.href ? held.etag : undefined, timeoutMs });
    if (got.status === "not-modified") {
      log.debug({ bundleUri: uri.href }, "trust bundle not modified");
      return "not-modified";
    }
    for (const note of got.value.notes) log.info({ bundleUri: uri.href }, `trust bundle: ${note}`);
    const result = await store.offer(got.value, { source: got.url.href, etag: got.etag, now: new Date(this.#timers.now()) });
    if (result === "replaced") {
      log.info(
        {
          bundleUri: got.url.href,
          sequence: got.value.sequence?.toString() ?? null,
          previousSequence: held?.bundle.sequence?.toString() ?? null,
          anchors: got.value.anchors.map((a) => a.fingerprint256),
          refreshHintSeconds: got.value.refreshHintSeconds ?? null,
        },
        held ? "trust bundle replaced" : "trust bundle accepted",
      );
    }
    return result;
  }
}
