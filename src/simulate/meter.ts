/**
 * What the simulated fleet's requests did (docs/simulate.md): per route the
 * count, the answers by status and the latency; per second the requests the
 * WFM answered (the arrival histogram after an outage); per device whether it
 * got an identity accepted, polled and reported. Every device's WFM requests
 * and package pulls go through `wrap`; nothing else is timed.
 */
import type { FetchFn } from "../protocol/wfm-client.ts";
import { LatencyHistogram } from "./latency.ts";
import { routeOf } from "./routes.ts";

export interface RouteFigures {
  count: number;
  /** HTTP status (as text) or "network" for a request that got no answer. */
  outcomes: Map<string, number>;
  latency: LatencyHistogram;
}

/** What one device achieved, set by its own requests. */
export interface DeviceProgress {
  /** The WFM accepted its identity: v1 onboarded (or any signed request answered 2xx), rc3 any 2xx over mutual TLS. */
  identified: boolean;
  polls: number;
  reports: number;
}

export class FleetMeter {
  readonly routes = new Map<string, RouteFigures>();
  /** Requests answered by the WFM (any status), per second since the meter started. */
  readonly answeredPerSecond: number[] = [];
  /** Reports (status POSTs) answered 2xx, per second since the meter started. */
  readonly reportsPerSecond: number[] = [];
  reportsDelivered = 0;
  requests = 0;
  private t0 = performance.now();

  constructor(private readonly basePath = "") {}

  /** The clock starts again when the first device starts (minting SVIDs is not the fleet's time). */
  restart(): void {
    this.t0 = performance.now();
  }

  /** A device's fetch, measured. */
  wrap(fetch: FetchFn, progress: DeviceProgress): FetchFn {
    return (url, init) => this.timed(url, init, progress, () => fetch(url, init));
  }

  /** One request, measured: the route, the answer, the time to the response headers. */
  async timed(url: string, init: RequestInit, progress: DeviceProgress, send: () => Promise<Response>): Promise<Response> {
    const route = routeOf((init.method ?? "GET").toUpperCase(), url, this.basePath);
    const started = performance.now();
    this.requests++;
    let outcome = "network";
    try {
      const res = await send();
      outcome = String(res.status);
      this.answered(route, res.status, progress, started);
      return res;
    } finally {
      this.note(route, outcome, performance.now() - started);
    }
  }

  secondsSinceStart(): number {
    return (performance.now() - this.t0) / 1000;
  }

  private answered(route: string, status: number, progress: DeviceProgress, started: number): void {
    const second = Math.floor((started - this.t0) / 1000);
    bump(this.answeredPerSecond, second);
    const ok = (status >= 200 && status < 300) || status === 304;
    if (!ok) return;
    // Every Margo route but the CA download needs the device's identity (v1: onboarding or a signature; rc3: its SVID).
    if (route.includes(" /api/v1/") && route !== "GET /api/v1/onboarding/certificate") progress.identified = true;
    if (route.endsWith("/deployments") && route.startsWith("GET ")) progress.polls++;
    if (route.endsWith("/status") && route.startsWith("POST ")) {
      progress.reports++;
      this.reportsDelivered++;
      bump(this.reportsPerSecond, second);
    }
  }

  private note(route: string, outcome: string, ms: number): void {
    let r = this.routes.get(route);
    if (!r) this.routes.set(route, (r = { count: 0, outcomes: new Map(), latency: new LatencyHistogram() }));
    r.count++;
    r.outcomes.set(outcome, (r.outcomes.get(outcome) ?? 0) + 1);
    r.latency.add(ms);
  }
}

function bump(series: number[], index: number): void {
  while (series.length <= index) series.push(0);
  series[index]!++;
}
