import type { HttpServerHandle, PeerInfo, ServeOptions } from "../types.ts";

export function serve(fetch: (req: Request, peer: PeerInfo) => Response | Promise<Response>, opts: ServeOptions): HttpServerHandle {
  const handler = (req: Request, server: { requestIP(req: Request): { address: string } | null }) => fetch(req, { address: server.requestIP(req)?.address ?? null });
  const server = opts.unix
    ? Bun.serve({ unix: opts.unix, fetch: handler })
    : Bun.serve({ hostname: opts.hostname, port: opts.port, fetch: handler });
  return {
    port: server.port ?? 0,
    hostname: server.hostname ?? opts.unix ?? "",
    stop: () => server.stop(true),
  };
}
