import type { HttpServerHandle, PeerInfo, ServeOptions } from "../types.ts";

/**
 * Seconds an idle keep-alive connection stays open (Bun's default). It is
 * never applied while an answer is under way: Bun would cut the request off
 * (ECONNRESET at the client) and print a non-JSON `warn: Bun.serve() timed
 * out …` line into the agent's log (issue 16). A handler bounds its own work
 * instead (POST /v1/sync waits a bounded time, then answers 202).
 */
const IDLE_SECONDS = 10;

type BunServer = { requestIP(req: Request): { address: string } | null; timeout(req: Request, seconds: number): void };

export function serve(fetch: (req: Request, peer: PeerInfo) => Response | Promise<Response>, opts: ServeOptions): HttpServerHandle {
  const handler = async (req: Request, server: BunServer) => {
    server.timeout(req, 0);
    let streaming = false;
    const res = await fetch(req, { address: server.requestIP(req)?.address ?? null, streaming: () => (streaming = true) });
    // A streamed answer (logs --follow) may be quiet for long; anything else is sent at once.
    if (!streaming) server.timeout(req, IDLE_SECONDS);
    return res;
  };
  // On a unix socket Bun 1.4 ignores server.timeout() (measured: a 20 s answer was
  // cut at 10 s), so there the idle timeout is off altogether. Only the socket's
  // owner and group (mode 0660) can connect, and no answer is cut short.
  const server = opts.unix
    ? Bun.serve({ unix: opts.unix, fetch: handler, idleTimeout: 0 } as unknown as { unix: string; fetch: typeof handler })
    : Bun.serve({ hostname: opts.hostname, port: opts.port, fetch: handler, idleTimeout: IDLE_SECONDS });
  return {
    port: server.port ?? 0,
    hostname: server.hostname ?? opts.unix ?? "",
    stop: () => server.stop(true),
  };
}
