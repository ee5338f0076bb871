/**
 * Follows the SVID files while the agent runs (docs/identity-rc3.md,
 * "Rotation"): the device's own management renews the SVID by replacing
 * identity.certFile / identity.keyFile, and the next connection must use the
 * new pair, without a restart.
 *
 * Polling, not fs.watch: a stat of two files every few seconds costs next to
 * nothing, and it sees every way a file can be replaced (atomic rename onto
 * the path, in-place rewrite, a symlink flipped to a new directory as
 * Kubernetes-style secret mounts do), where inotify watches an inode that a
 * rename leaves behind. A change is taken only after the new pair passes the
 * same validation as at start; a half-written file or a certificate whose key
 * has not arrived yet is logged and the old SVID stays in use; the next
 * change of either file is tried again.
 */
import type { X509Certificate } from "node:crypto";
import { asAgentError, AgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { chainsTo } from "./chain.ts";
import { DEFAULT_EXPIRY_WARNING_MS, fileVersion, loadSvid, svidExpiry, type Svid, type SvidExpiry, type SvidState } from "./svid.ts";
import { systemTimers, type Timers } from "./timers.ts";

export const DEFAULT_SVID_POLL_MS = 5_000;
/** While an SVID is expiring or expired, the warning is repeated this often (not every poll). */
const REPEAT_WARNING_MS = 3600_000;
/**
 * A refused pair is tried again when a file changes, and also this often
 * (a notBefore slightly ahead of the device clock becomes valid by itself).
 */
const RETRY_REFUSED_MS = 60_000;

export interface SvidWatcherOptions {
  certFile: string;
  keyFile: string;
  log: Logger;
  pollMs?: number;
  /** Lead time of the "expires soon" warning (identity.expiryWarning). */
  warnBeforeMs?: number;
  timers?: Timers;
  /**
   * The current trust anchors, when known. A rotated SVID that does not chain
   * to them is not swapped in (the WFM validates against the same trust
   * domain's bundle, so it would refuse it); it is retried, so it is taken
   * once a bundle refresh brings its anchor. At start it is only a warning.
   */
  anchors?: () => readonly X509Certificate[] | undefined;
}

export type CheckOutcome = "unchanged" | "rotated" | "refused";

export class SvidWatcher {
  readonly #opts: SvidWatcherOptions;
  readonly #timers: Timers;
  #svid: Svid | undefined;
  #version = 0;
  #seen = "";
  #timer: unknown;
  #checking: Promise<CheckOutcome> | undefined;
  #lastRefusal: AgentError | undefined;
  #retryAt = 0;
  #stopped = false;
  #warned: { state: SvidState; at: number } | undefined;
  readonly #listeners = new Set<(svid: Svid, version: number) => void>();

  constructor(opts: SvidWatcherOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? systemTimers;
  }

  /** Loads the SVID (throws IDENTITY_INVALID, naming the file, when it is unusable) and starts polling. */
  async start(): Promise<Svid> {
    this.#stopped = false;
    if (this.#svid === undefined) {
      const seen = await this.#versions();
      const svid = await loadSvid({ certFile: this.#opts.certFile, keyFile: this.#opts.keyFile, now: () => this.#timers.now() });
      this.#svid = svid;
      this.#seen = seen;
      this.#version = 1;
      this.#opts.log.info(
        { spiffeId: svid.spiffeId.id, wfm: svid.wfm.id, fingerprint: svid.fingerprint, notAfter: svid.notAfter.toISOString(), certFile: svid.certFile },
        "SVID loaded",
      );
      const unanchored = this.#unanchored(svid);
      if (unanchored) this.#opts.log.warn({ code: "IDENTITY_INVALID", certFile: svid.certFile }, unanchored);
      this.#checkExpiry();
    }
    this.#schedule();
    return this.#svid;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The SVID in use. Throws before start(). */
  current(): Svid {
    if (this.#svid === undefined) throw new Error("SvidWatcher: start() has not loaded an SVID yet");
    return this.#svid;
  }

  /** Bumps each time a new SVID is swapped in: connections built on an older version must not be reused. */
  get version(): number {
    return this.#version;
  }

  /** The last rotation that was refused (until a later one succeeds), for status display. */
  get lastRefusal(): AgentError | undefined {
    return this.#lastRefusal;
  }

  expiry(): SvidExpiry {
    return svidExpiry(this.current(), this.#timers.now(), this.#opts.warnBeforeMs ?? DEFAULT_EXPIRY_WARNING_MS);
  }

  /** Called after each swap. Returns the unsubscribe function. */
  onRotate(fn: (svid: Svid, version: number) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** One poll: re-reads the files when either changed. Concurrent calls share one check. */
  checkNow(): Promise<CheckOutcome> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.checkNow().finally(() => this.#schedule());
    }, this.#opts.pollMs ?? DEFAULT_SVID_POLL_MS);
  }

  /** Both files' versions; a missing file is a version too (a rotation in progress). */
  async #versions(): Promise<string> {
    const one = (path: string) => fileVersion(path).catch((err: unknown) => `missing:${asAgentError(err).message}`);
    return `${await one(this.#opts.certFile)}|${await one(this.#opts.keyFile)}`;
  }

  async #check(): Promise<CheckOutcome> {
    const current = this.current();
    const seen = await this.#versions();
    let outcome: CheckOutcome = "unchanged";
    if (seen !== this.#seen) {
      this.#seen = seen;
      outcome = await this.#reload(current);
    } else if (this.#lastRefusal !== undefined && this.#timers.now() >= this.#retryAt) {
      outcome = await this.#reload(current);
    }
    this.#checkExpiry();
    return outcome;
  }

  async #reload(current: Svid): Promise<CheckOutcome> {
    const { log } = this.#opts;
    let next: Svid;
    try {
      next = await loadSvid({ certFile: this.#opts.certFile, keyFile: this.#opts.keyFile, now: () => this.#timers.now() });
    } catch (err) {
      const error = asAgentError(err, "IDENTITY_INVALID");
      const repeated = this.#lastRefusal?.message === error.message;
      this.#lastRefusal = error;
      this.#retryAt = this.#timers.now() + RETRY_REFUSED_MS;
      if (repeated) return "refused";
      log.warn(
        { code: error.code, file: error.details.file ?? null, inUse: current.fingerprint, notAfter: current.notAfter.toISOString() },
        `SVID files changed but cannot be used (${error.message}); keeping the SVID in use until they change again`,
      );
      return "refused";
    }
    if (next.fingerprint === current.fingerprint && next.key.equals(current.key) && next.chainPem === current.chainPem) {
      return "unchanged"; // touched or rewritten with the same content
    }
    const unanchored = this.#unanchored(next);
    if (unanchored) {
      const error = new AgentError("IDENTITY_INVALID", `${unanchored}; keeping the SVID in use`, { file: next.certFile });
      const repeated = this.#lastRefusal?.message === error.message;
      this.#lastRefusal = error;
      this.#retryAt = this.#timers.now() + RETRY_REFUSED_MS;
      if (!repeated) log.warn({ code: error.code, file: next.certFile }, error.message);
      return "refused";
    }
    if (next.spiffeId.id !== current.spiffeId.id) {
      // Renewal keeps the SPIFFE ID; a new one is a new client relationship, whose state
      // (journal, deployments) is not this one's. Adopting it mid-run would mix the two.
      const error = new AgentError(
        "IDENTITY_INVALID",
        `the new SVID in ${next.certFile} is ${next.spiffeId.id}, not ${current.spiffeId.id}; a different identity is adopted only by a restart`,
        { file: next.certFile },
      );
      const repeated = this.#lastRefusal?.message === error.message;
      this.#lastRefusal = error;
      this.#retryAt = this.#timers.now() + RETRY_REFUSED_MS;
      if (!repeated) log.error({ code: error.code, file: next.certFile }, error.message);
      return "refused";
    }
    this.#svid = next;
    this.#version++;
    this.#lastRefusal = undefined;
    this.#warned = undefined;
    log.info(
      { spiffeId: next.spiffeId.id, fingerprint: next.fingerprint, previous: current.fingerprint, notAfter: next.notAfter.toISOString(), version: this.#version },
      "SVID rotated; new connections use it",
    );
    for (const fn of this.#listeners) fn(next, this.#version);
    return "rotated";
  }

  #unanchored(svid: Svid): string | undefined {
    const anchors = this.#opts.anchors?.();
    if (anchors === undefined || anchors.length === 0) return undefined;
    if (chainsTo([svid.leaf, ...svid.intermediates], [...anchors])) return undefined;
    return `the SVID in ${svid.certFile} (${svid.spiffeId.id}) does not chain to any anchor of the current trust bundle`;
  }

  #checkExpiry(): void {
    const expiry = this.expiry();
    if (expiry.state === "valid") {
      this.#warned = undefined;
      return;
    }
    const now = this.#timers.now();
    if (this.#warned?.state === expiry.state && now - this.#warned.at < REPEAT_WARNING_MS) return;
    this.#warned = { state: expiry.state, at: now };
    const svid = this.current();
    const fields = { code: "SVID_EXPIRING", spiffeId: svid.spiffeId.id, notAfter: expiry.notAfter.toISOString(), remainingSeconds: Math.round(expiry.remainingMs / 1000), certFile: svid.certFile };
    if (expiry.state === "expired") {
      this.#opts.log.error(fields, `SVID ${svid.spiffeId.id} expired at ${expiry.notAfter.toISOString()}; the WFM will refuse it until ${svid.certFile} is renewed`);
    } else {
      this.#opts.log.warn(fields, `SVID ${svid.spiffeId.id} expires at ${expiry.notAfter.toISOString()}; renew ${svid.certFile} before then`);
    }
  }
}
