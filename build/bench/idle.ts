/**
 * Idle memory of one executable, started cold: dropped from the page cache,
 * spawned, its first manifest poll seen at the dev WFM, then SETTLE_MS later
 * VmRSS, RssAnon and RssFile read from /proc/PID/status.
 */
import { Child } from "./child.ts";
import { dropFromPageCache } from "./cold.ts";
import { rssSplit } from "./procfs.ts";

/** Time for a fresh process to finish its first poll and settle before its RSS is read. */
export const SETTLE_MS = 1000;

export interface IdleSample {
  rss: number;
  anon: number;
  file: number;
  /** spawn → the dev WFM logged the first manifest request (undefined: no poll to wait for). */
  firstPollMs?: number;
}

export interface ColdStart {
  /** The file to drop from the page cache before the start (the executable, or the bare Bun copy). */
  file: string;
  start: () => Child;
  /** Resolves (with the moment it happened) when the process made its first poll; absent: just settle. */
  firstPoll?: (child: Child) => Promise<{ atMs: number }>;
  /** Leave the process running (the caller measures more and stops it). */
  keep?: boolean;
  /** Start from the page cache as it is (for startup times of a device that started the agent before). */
  warm?: boolean;
}

export async function coldIdle(c: ColdStart): Promise<{ sample: IdleSample; child: Child }> {
  if (!c.warm) dropFromPageCache(c.file);
  const child = c.start();
  let firstPollMs: number | undefined;
  if (c.firstPoll) firstPollMs = (await c.firstPoll(child)).atMs - child.spawnedAtMs;
  await Bun.sleep(SETTLE_MS);
  const sample = { ...rssSplit(child.pid), firstPollMs };
  if (!c.keep) await child.stop();
  return { sample, child };
}
