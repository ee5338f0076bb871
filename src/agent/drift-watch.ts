/**
 * Drift from engine events: while the runtime's event stream is up, a
 * container of ours that died, was stopped, killed or removed leads to one
 * drift check within about a second, and nothing else inspects the engine
 * except a slow safety net. While the stream is down, `up` is false and the
 * Agent keeps its periodic inspection (reconcile.driftInterval); on every
 * reconnect one check covers what the gap may have hidden.
 *
 * Events come in bursts (kill, die, stop and remove for one `docker rm -f`,
 * several containers per component): they are debounced into one check,
 * `debounceMs` after the last event, but never later than `maxDelayMs` after
 * the first.
 */
import type { EngineEvent, WatchHandlers } from "../../runtimes/types.ts";
import type { Logger } from "../log.ts";
import { after, every, type Timer } from "../util/timer.ts";

export interface DriftWatchOptions {
  /** The runtime's watch (RuntimeAdapter.watch). */
  watch: (handlers: WatchHandlers, signal: AbortSignal) => void;
  /**
   * One drift check (inspect, repair). May return false for "not done now" (the
   * agent was busy): it is asked again after `debounceMs`.
   */
  checkDrift: () => Promise<boolean | void>;
  /**
   * Whether an event concerns this agent's deployments (e.g. the store knows its
   * deploymentId). Default: every event. Another agent sharing the engine, or
   * containers of a deployment already forgotten, then cost no inspection.
   */
  relevant?: (event: EngineEvent) => boolean;
  log?: Pick<Logger, "info" | "warn" | "debug">;
  /** Quiet time after the last event before the check. Default 200 ms. */
  debounceMs?: number;
  /** Longest wait from the first event of a burst to its check. Default 1000 ms. */
  maxDelayMs?: number;
  /** While the stream is up, a check this often anyway (an event lost in the engine). Default 15 min; Infinity: never. */
  safetyNetMs?: number;
}

export class DriftWatch {
  private readonly abort = new AbortController();
  private connected = false;
  private everUp = false;
  private started = false;
  private stopped = false;
  private burstStartedAt: number | undefined;
  private pending: Timer | undefined;
  private safetyNet: Timer | undefined;
  private checking = false;
  private again = false;
  /** Relevant events seen, and checks run, since start (for tests and the bench). */
  readonly counts = { events: 0, checks: 0 };

  constructor(private readonly o: DriftWatchOptions) {}

  /** True while the event stream is connected: the periodic inspection may rest. */
  get up(): boolean {
    return this.connected && !this.stopped;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.o.watch({ onEvent: (e) => this.onEvent(e), onStatus: (up, detail) => this.onStatus(up, detail) }, this.abort.signal);
    const net = this.o.safetyNetMs ?? 15 * 60_000;
    this.safetyNet = every(net, () => {
      if (this.up) this.schedule(0);
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.connected = false;
    this.abort.abort(new Error("drift watch stopped"));
    this.pending?.cancel();
    this.safetyNet?.cancel();
  }

  private onStatus(up: boolean, detail?: string): void {
    if (this.stopped || up === this.connected) return;
    this.connected = up;
    if (up) {
      this.o.log?.info({ reconnect: this.everUp }, "drift: following the engine's events; periodic inspection paused");
      // What happened while the stream was down was not seen: look once.
      if (this.everUp) this.schedule(0);
      this.everUp = true;
    } else {
      this.o.log?.warn({ detail }, "drift: the engine's event stream is down; periodic inspection until it is back");
    }
  }

  private onEvent(e: EngineEvent): void {
    if (this.stopped || (this.o.relevant && !this.o.relevant(e))) return;
    this.counts.events++;
    this.o.log?.debug({ deploymentId: e.deploymentId, component: e.component, action: e.action, containerId: e.containerId }, "drift: engine event");
    this.schedule(this.o.debounceMs ?? 200);
  }

  /** A check `delayMs` from now, unless one is due sooner; never later than maxDelayMs after the first request of a burst. */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const now = performance.now();
    this.burstStartedAt ??= now;
    const latest = this.burstStartedAt + (this.o.maxDelayMs ?? 1000);
    this.pending?.cancel();
    this.pending = after(Math.min(delayMs, latest - now), () => void this.run());
  }

  private async run(): Promise<void> {
    this.pending = undefined;
    this.burstStartedAt = undefined;
    if (this.stopped) return;
    // One check at a time; events during it earn exactly one more.
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    let done: boolean | void = true;
    try {
      this.counts.checks++;
      done = await this.o.checkDrift();
    } catch (err) {
      this.o.log?.warn({ err: String(err) }, "drift: check failed");
    } finally {
      this.checking = false;
    }
    if (done === false || this.again) {
      this.again = false;
      this.schedule(this.o.debounceMs ?? 200);
    }
  }
}
