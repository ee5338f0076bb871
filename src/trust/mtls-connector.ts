/**
 * One fetch for every rc3 request, that always uses the current SVID and
 * trust bundle (docs/identity-rc3.md, "Connections"). Connections are pooled
 * per (SVID version, bundle version): after a rotation of either, the next
 * request opens a new connection with the new material, and the old pool is
 * closed (requests in flight finish). A pool is also retired after
 * `maxSessionAgeMs`, so a long-lived connection re-validates the WFM's SVID
 * against the current bundle at least that often (TLS requirements, "Session
 * lifetime and re-validation").
 *
 * The session itself comes from an injected factory: Bun.FetchSession in
 * src/platform/bun/fetch-session.ts, anything with fetch/close in tests.
 */
import { AgentError } from "../errors/index.ts";
import type { TrustBundle } from "./bundle.ts";
import type { SessionFactory, TlsSession } from "../platform/types.ts";
import { clientTlsOptions, type ClientTlsChoice } from "./client-tls.ts";
import type { Svid } from "./svid.ts";
import { systemTimers, type Timers } from "./timers.ts";

export type { SessionFactory, TlsSession };

export interface MtlsConnectorOptions {
  svid: { current(): Svid; readonly version: number };
  bundle: { current(): { bundle: TrustBundle } | undefined; readonly version: number };
  openSession: SessionFactory;
  /** Default 15 minutes. */
  maxSessionAgeMs?: number;
  tls?: ClientTlsChoice;
  timers?: Timers;
}

export const DEFAULT_MAX_SESSION_AGE_MS = 15 * 60_000;

export class MtlsConnector {
  readonly #opts: MtlsConnectorOptions;
  readonly #timers: Timers;
  #session: { key: string; openedAt: number; session: TlsSession } | undefined;
  #opened = 0;

  constructor(opts: MtlsConnectorOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? systemTimers;
  }

  /** How many sessions were opened so far (a rotation opens one more). */
  get sessionsOpened(): number {
    return this.#opened;
  }

  /** The current material's session key: "svidVersion/bundleVersion". */
  materialKey(): string {
    return `${this.#opts.svid.version}/${this.#opts.bundle.version}`;
  }

  /** fetch over mTLS with the current material. Throws TRUST_BUNDLE_MISSING when there is no bundle yet. */
  readonly fetch = (url: string, init: RequestInit = {}): Promise<Response> => {
    try {
      return this.#sessionFor().fetch(url, init);
    } catch (err) {
      return Promise.reject(err);
    }
  };

  /** Closes the pool (agent shutdown). */
  close(): void {
    this.#session?.session.close();
    this.#session = undefined;
  }

  #sessionFor(): TlsSession {
    const key = this.materialKey();
    const now = this.#timers.now();
    const maxAge = this.#opts.maxSessionAgeMs ?? DEFAULT_MAX_SESSION_AGE_MS;
    const open = this.#session;
    if (open !== undefined && open.key === key && now - open.openedAt < maxAge) return open.session;
    const held = this.#opts.bundle.current();
    if (held === undefined) {
      throw new AgentError(
        "TRUST_BUNDLE_MISSING",
        "no trust bundle yet (wfm.caFile not set, nothing cached, discovery not answered): the WFM's certificate cannot be verified",
      );
    }
    open?.session.close();
    const session = this.#opts.openSession(clientTlsOptions(this.#opts.svid.current(), held.bundle, this.#opts.tls));
    this.#session = { key, openedAt: now, session };
    this.#opened++;
    return session;
  }
}
