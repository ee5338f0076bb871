/**
 * When the WFM stops knowing this client (v1: 401/403 to its signed requests;
 * a WFM restored from a backup or reset answers so to every one), the session
 * records it here from the answers themselves: since when, and what the WFM
 * said. Any accepted answer on the client's routes ends it. The v1 session
 * onboards again once the refusal has lasted identity.reonboardAfter.
 * Monotonic for the wait (INV-TIME-1), wall clock for what people read.
 */

export interface ClientRefusalView {
  clientId: string;
  /** When the WFM first refused, of this run of refusals (ISO 8601). */
  since: string;
  status: number;
  /** What the WFM said (problem detail or body), shortened. */
  detail: string;
  /** When the agent onboards again (ISO 8601); null when it will not (wfm.clientId configured, or reonboardAfter 0). */
  reonboardAt: string | null;
}

export class ClientRefusal {
  private run: { clientId: string; sinceMono: number; sinceWall: number; status: number; detail: string } | undefined;
  private listeners: (() => void)[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** A 401/403 on the client's routes. The first of a run wakes whoever waits (onStart). */
  refused(clientId: string, status: number, detail: string): void {
    const first = this.run === undefined || this.run.clientId !== clientId;
    if (first) this.run = { clientId, sinceMono: this.now(), sinceWall: Date.now(), status, detail };
    else Object.assign(this.run!, { status, detail });
    if (first) for (const l of this.listeners) l();
  }

  /** An answer the WFM accepted on the client's routes: it knows this client. */
  accepted(clientId: string): void {
    if (this.run?.clientId === clientId) this.run = undefined;
  }

  reset(): void {
    this.run = undefined;
  }

  onStart(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Milliseconds until re-onboarding is due (≤ 0: now), or undefined while nothing is refused. */
  dueInMs(afterMs: number): number | undefined {
    if (!this.run || afterMs <= 0) return undefined;
    return this.run.sinceMono + afterMs - this.now();
  }

  view(reonboardAfterMs: number | null): ClientRefusalView | undefined {
    const r = this.run;
    if (!r) return undefined;
    return {
      clientId: r.clientId,
      since: new Date(r.sinceWall).toISOString(),
      status: r.status,
      detail: r.detail,
      reonboardAt: reonboardAfterMs ? new Date(r.sinceWall + reonboardAfterMs).toISOString() : null,
    };
  }
}
