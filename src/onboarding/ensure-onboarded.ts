/**
 * Onboarding until it succeeds: a device that is not approved yet (403), or
 * cannot reach the WFM, keeps asking with exponential backoff and full jitter,
 * so a fleet switched on together does not knock in lockstep. The clientId is
 * persisted in the state store the moment it arrives; later starts never
 * onboard again.
 */
import { asAgentError } from "../errors/index.ts";
import type { DeviceIdentity } from "../identity/load-or-create.ts";
import { backoffDelay, type BackoffPolicy } from "../journal/retry-timing.ts";
import type { Logger } from "../log.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import { onboard } from "./onboard.ts";
import { META } from "../store/meta-keys.ts";

export const CLIENT_ID_META = META.clientId;

/** The part of the StateStore this needs. */
export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export interface EnsureOnboardedOptions {
  client: WfmClient;
  identity: DeviceIdentity;
  store: MetaStore;
  log: Logger;
  signal?: AbortSignal;
  /** Default: from 5 s, doubling, up to 5 min between attempts. */
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Called after each failed attempt, before waiting (tests count attempts here). */
  onAttemptFailed?: (code: string, attempt: number) => void;
}

export const DEFAULT_ONBOARDING_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 5 * 60_000 };

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The stored clientId, or onboards (retrying until approved or aborted) and stores it. */
export async function ensureOnboarded(opts: EnsureOnboardedOptions): Promise<string> {
  const { store, log } = opts;
  const stored = store.getMeta(CLIENT_ID_META);
  if (stored) return stored;
  const policy = opts.backoff ?? DEFAULT_ONBOARDING_BACKOFF;
  for (let attempt = 0; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      const { clientId } = await onboard({ client: opts.client, identity: opts.identity, log, signal: opts.signal });
      store.setMeta(CLIENT_ID_META, clientId);
      log.info({ clientId, attempts: attempt + 1 }, `onboarded: the WFM assigned clientId ${clientId}`);
      return clientId;
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const e = asAgentError(err);
      const delayMs = backoffDelay(attempt, policy, opts.random);
      const fields = { ...e.details, code: e.code, attempt: attempt + 1, retryInMs: delayMs };
      // Waiting for an operator is the normal first-boot state, not a fault.
      if (e.code === "ONBOARDING_PENDING") log.warn(fields, e.message);
      else log.error(fields, `onboarding failed: ${e.message}`);
      opts.onAttemptFailed?.(e.code, attempt + 1);
      await sleep(delayMs, opts.signal);
    }
  }
}
