/**
 * api.listen: HOST:PORT or unix:/absolute/path. Pure, so the config schema
 * (what `config check` and every command accept) and the API (what it binds)
 * read the value the same way.
 */
import { AgentError } from "../errors/index.ts";

export type ListenTarget = { kind: "unix"; path: string } | { kind: "tcp"; hostname: string; port: number };

const TCP = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
/** Linux's sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/** The target, or why the text is not one. */
export function readListen(listen: string): ListenTarget | { problem: string } {
  if (listen.startsWith("unix:")) {
    const path = listen.slice(5);
    if (!path.startsWith("/")) return { problem: "must name an absolute socket path, e.g. unix:/run/margo-agent/api.sock" };
    if (path.endsWith("/")) return { problem: "must name a socket file, not a directory" };
    if (path.includes("\0")) return { problem: "must not contain a NUL character" };
    if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH_BYTES) return { problem: `is too long for a unix socket path (at most ${MAX_SOCKET_PATH_BYTES} bytes)` };
    return { kind: "unix", path };
  }
  const m = TCP.exec(listen);
  if (!m) return { problem: "must be HOST:PORT (e.g. 127.0.0.1:7480) or unix:/path/to.sock" };
  const port = Number(m[3]);
  // Port 0 asks the kernel for a free one (tests, and a socket-activated setup that reads the log).
  if (port > 65535) return { problem: "has a port above 65535" };
  return { kind: "tcp", hostname: m[1] ?? m[2]!, port };
}

/** Throws CONFIG_INVALID naming api.listen. */
export function parseListen(listen: string): ListenTarget {
  const t = readListen(listen);
  if ("problem" in t) throw new AgentError("CONFIG_INVALID", `api.listen: ${JSON.stringify(listen)} ${t.problem}`, { key: "api.listen" });
  return t;
}
