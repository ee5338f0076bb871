/** Serving a dev WFM on a real socket (the CLI and the tests use this). */
import { bunPlatform } from "../platform/bun/index.ts";
import type { Platform } from "../platform/types.ts";
import type { DevWfmOptions } from "./options.ts";
import { loadOrCreateRc3Identity, issueWfmSvid, type Rc3Identity } from "./rc3/identity.ts";
import { listenRc3 } from "./rc3/listener.ts";
import { createDevWfm, type DevWfm } from "./server.ts";
import { resolveStatePaths } from "./state-dir.ts";

export interface StartedDevWfm extends DevWfm {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** How often an rc3 dev WFM checks whether its own SVID is due for renewal. */
const SVID_CHECK_MS = 3_600_000;

/** Splits HOST:PORT (IPv6 as [::1]:PORT). Throws naming the value when it is malformed. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`);
  return { hostname: (m[1] ?? m[2])!, port };
}

function urlHost(hostname: string): string {
  // A wildcard address is not something a client can be told to connect to.
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

export async function startDevWfm(
  opts: DevWfmOptions & { listen: string; publicUrl?: string; platform?: Platform },
): Promise<StartedDevWfm> {
  const { hostname, port } = parseListen(opts.listen);
  if ((opts.profile ?? "v1") === "rc3") return startRc3(opts, hostname, port);
  const wfm = createDevWfm(opts);
  const platform = opts.platform ?? bunPlatform;
  const handle = platform.serve(wfm.fetch, { hostname, port });
  const url = (opts.publicUrl ?? `http://${urlHost(hostname)}:${handle.port}`).replace(/\/+$/, "");
  if (opts.baseUrl === undefined) wfm.setBaseUrl(url);
  try {
    wfm.refresh();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return {
    ...wfm,
    url,
    port: handle.port,
    stop: async () => {
      wfm.close();
      await handle.stop();
    },
  };
}

/**
 * rc3: the identity from the state dir (created on first start), a fresh WFM
 * SVID for this start (its names: localhost, the loopback addresses, the
 * listen and public hosts), and the mTLS listener (rc3/listener.ts).
 */
async function startRc3(opts: DevWfmOptions & { listen: string; publicUrl?: string }, hostname: string, port: number): Promise<StartedDevWfm> {
  const { stateDir } = resolveStatePaths(opts);
  const identity: Rc3Identity = await loadOrCreateRc3Identity(stateDir, opts.rc3 ?? {});
  const wfm = createDevWfm(opts, identity);
  const hosts = [hostname, ...(opts.publicUrl ? [new URL(opts.publicUrl).hostname] : [])];
  const material = () => {
    const svid = issueWfmSvid(identity, hosts);
    return { svid, tls: { chainPem: svid.chainPem, key: svid.key, anchorsPem: [identity.ca.anchorPem] } };
  };
  let current = material();
  const listener = await listenRc3(wfm.fetch, {
    hostname,
    port,
    wfm: identity.wfm,
    material: current.tls,
    log: opts.log,
    onHandshakeFailure: (f) => wfm.rc3!.noteRefusal({ address: f.address, spiffeId: null, reason: f.reason }),
  });
  // Renewed at two thirds of its life, for new connections (a dev WFM may run for weeks).
  const renew = setInterval(() => {
    const { validFromDate, validToDate } = current.svid.leaf;
    const renewAt = validFromDate.getTime() + ((validToDate.getTime() - validFromDate.getTime()) * 2) / 3;
    if (Date.now() < renewAt) return;
    current = material();
    listener.setMaterial(current.tls);
    opts.log.info({ spiffeId: identity.wfm.id, notAfter: current.svid.leaf.validToDate.toISOString() }, "dev WFM renewed its own SVID");
  }, SVID_CHECK_MS);
  renew.unref?.();
  const url = (opts.publicUrl ?? `https://${urlHost(hostname)}:${listener.port}`).replace(/\/+$/, "");
  if (opts.baseUrl === undefined) wfm.setBaseUrl(url);
  try {
    wfm.refresh();
  } catch (err) {
    clearInterval(renew);
    await listener.stop();
    throw err;
  }
  return {
    ...wfm,
    url,
    port: listener.port,
    stop: async () => {
      clearInterval(renew);
      wfm.close();
      await listener.stop();
    },
  };
}
