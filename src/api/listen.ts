/**
 * api.listen: HOST:PORT or unix:/path. Binding anywhere but loopback without a
 * token would publish the device's state to its network: refused at start.
 */
import { AgentError } from "../errors/index.ts";
import { isLoopbackHost } from "./auth/loopback.ts";

export type ListenTarget = { kind: "unix"; path: string } | { kind: "tcp"; hostname: string; port: number };

export function parseListen(listen: string): ListenTarget {
  if (listen.startsWith("unix:")) {
    const path = listen.slice(5);
    if (!path.startsWith("/")) throw new AgentError("CONFIG_INVALID", `api.listen: ${JSON.stringify(listen)}: the unix socket path must be absolute`, { key: "api.listen" });
    return { kind: "unix", path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new AgentError("CONFIG_INVALID", `api.listen: ${JSON.stringify(listen)} is not HOST:PORT or unix:/path`, { key: "api.listen" });
  return { kind: "tcp", hostname: m[1] ?? m[2]!, port };
}

/** Throws CONFIG_INVALID when the API would be reachable from the network without a token. */
export function assertSafeBinding(target: ListenTarget, token: string | null): void {
  if (target.kind === "tcp" && !isLoopbackHost(target.hostname) && token === null) {
    throw new AgentError(
      "CONFIG_INVALID",
      `api.listen: ${target.hostname}:${target.port} is not a loopback address, so api.token must be set (at least 16 characters); ` +
        `or listen on 127.0.0.1 or a unix socket, or set api.enabled=false`,
      { key: "api.listen" },
    );
  }
}

/** The base URL a client uses to reach the API (for unix sockets: http://localhost plus the socket path beside it). */
export function clientBaseUrl(target: ListenTarget): string {
  if (target.kind === "unix") return "http://localhost";
  const host = target.hostname === "0.0.0.0" ? "127.0.0.1" : target.hostname === "::" ? "[::1]" : target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  return `http://${host}:${target.port}`;
}
