/**
 * The compiled dev WFM as the bench's server: started from its own copy of
 * the executable (so that the agent's file can be dropped from the page cache
 * while the WFM runs), with debug logs, which is how the bench counts polls
 * and sees reports without asking the agent anything.
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { Child } from "./child.ts";
import { privateCopy } from "./cold.ts";

export interface Report {
  deploymentId: string;
  state: string;
  atMs: number;
}

export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export class DevWfm {
  /** The agent's clientId, once the WFM logged its onboarding. */
  clientId = "";
  private readonly polls = new Map<string, { notModified: number; other: number }>();
  private readonly reportListeners = new Set<(r: Report) => void>();

  private constructor(
    readonly child: Child,
    readonly url: string,
    readonly dir: string,
  ) {
    child.onLine((line, atMs) => {
      const e = jsonLine(line);
      if (!e) return;
      if (e.msg === "client onboarded") this.clientId = String(e.clientId);
      const m = e.msg === "request" && e.method === "GET" ? /^\/api\/v1\/clients\/([^/]+)\/deployments$/.exec(String(e.path)) : null;
      if (m) {
        const c = this.polls.get(m[1]!) ?? { notModified: 0, other: 0 };
        if (e.status === 304) c.notModified++;
        else c.other++;
        this.polls.set(m[1]!, c);
      }
      if (e.msg === "status report") {
        const r = { deploymentId: String(e.deploymentId), state: String(e.state), atMs };
        for (const l of this.reportListeners) l(r);
      }
    });
  }

  /** `exe dev-wfm` serving a copy of `appDir` from `work`; resolves once it listens. */
  static async start(exe: string, work: string, appDir: string, start: (name: string, argv: string[]) => Child): Promise<DevWfm> {
    const dir = join(work, "wfm");
    cpSync(appDir, dir, { recursive: true });
    const copy = privateCopy(exe, join(work, "dev-wfm-exe"));
    const child = start("dev-wfm", [copy, "dev-wfm", "--profile", "v1", "--state", join(work, "wfm-state"), "--dir", dir, "--listen", "127.0.0.1:0", "--log-level", "debug"]);
    const listening = await child.waitForLine("listening line", (l) => l.includes("dev WFM listening"), 10_000);
    return new DevWfm(child, String(jsonLine(listening.line)?.url), dir);
  }

  /** Manifest polls of `clientId` so far, by answer. */
  pollsOf(clientId: string): { notModified: number; other: number } {
    return { ...(this.polls.get(clientId) ?? { notModified: 0, other: 0 }) };
  }

  /** The next manifest request of `clientId`, with the moment it arrived. */
  nextPoll(clientId: string, timeoutMs = 10_000): Promise<{ atMs: number }> {
    const path = `"path":"/api/v1/clients/${clientId}/deployments"`;
    return this.child.waitForLine(`a manifest request of ${clientId}`, (l) => l.includes(path), timeoutMs);
  }

  /** Calls `fn` for every status report from now on; returns the unsubscribe function. */
  onReport(fn: (r: Report) => void): () => void {
    this.reportListeners.add(fn);
    return () => this.reportListeners.delete(fn);
  }

  reportArrives(what: string, match: (r: Report) => boolean, timeoutMs: number): Promise<Report> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`dev WFM: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onReport((r) => {
        if (!match(r)) return;
        clearTimeout(timer);
        off();
        resolve(r);
      });
    });
  }
}
