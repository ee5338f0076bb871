/** Serving a dev WFM on a real socket through the platform seam (the CLI and the tests use this). */
import { bunPlatform } from "../platform/bun/index.ts";
import type { Platform } from "../platform/types.ts";
import type { DevWfmOptions } from "./options.ts";
import { createDevWfm, type DevWfm } from "./server.ts";

export interface StartedDevWfm extends DevWfm {
  url: string;
  port: number;
  stop(): Promise<void>;
}

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
