import type { HttpServerHandle, ServeOptions } from "../../platform/types.ts";

export function serve(fetch: (req: Request) => Response | Promise<Response>, opts: ServeOptions): HttpServerHandle {
  const server = opts.unix
    ? Bun.serve({ unix: opts.unix, fetch })
    : Bun.serve({ hostname: opts.hostname, port: opts.port, fetch });
  return {
    port: server.port ?? 0,
    hostname: server.hostname ?? opts.unix ?? "",
    stop: () => server.stop(true),
  };
}
