/**
 * api.listen: HOST:PORT or unix:/path (parsed in src/config/listen.ts, so the
 * config check and the API agree). Binding anywhere but loopback without a
 * token would publish the device's state to its network: refused at start.
 * A unix socket path is only ever cleared of a stale socket: `unix:PATH` once
 * deleted whatever was at PATH, a regular file or another agent's state.db.
 */
import { lstatSync, rmSync, type Stats } from "node:fs";
import { createConnection } from "node:net";
import { AgentError } from "../errors/index.ts";
import { isLoopbackHost } from "./auth/loopback.ts";
import type { ListenTarget } from "../config/listen.ts";

export { parseListen, type ListenTarget } from "../config/listen.ts";

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

function kindOf(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  return "not a socket";
}

/** "refused" when nothing listens on the socket; "live" when something answers; "unknown" when we cannot tell (EACCES, no answer). */
function probeSocket(path: string, timeoutMs = 1000): Promise<"refused" | "live" | "unknown"> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (result: "refused" | "live" | "unknown") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done("unknown"), timeoutMs);
    socket.once("connect", () => done("live"));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" || err.code === "ENOENT" ? "refused" : "unknown"));
  });
}

/**
 * Makes `path` free for the API's socket. Nothing there: fine. A socket nobody
 * listens on (left by a crash or kill -9): removed. Anything else — a file that
 * is not a socket, or a socket some process answers on — is left alone and
 * refused with CONFIG_INVALID naming api.listen and what is there.
 */
export async function claimSocketPath(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new AgentError("CONFIG_INVALID", `api.listen: unix:${path}: cannot inspect ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { key: "api.listen", path });
  }
  const refuse = (why: string) =>
    new AgentError("CONFIG_INVALID", `api.listen: unix:${path}: ${why}; refusing to remove it. Choose another path, or remove it yourself if it is not needed`, { key: "api.listen", path });
  if (!st.isSocket()) throw refuse(`${path} is ${kindOf(st)}, not a socket`);
  const probe = await probeSocket(path);
  if (probe === "live") throw refuse(`a process is listening on ${path} (another agent?)`);
  if (probe === "unknown") throw refuse(`cannot tell whether a process is listening on ${path}`);
  // Recheck right before removing: only the stale socket we probed goes, never what replaced it.
  const again = lstatSync(path, { throwIfNoEntry: false });
  if (again?.isSocket() && again.ino === st.ino && again.dev === st.dev) rmSync(path, { force: true });
}

/** After the server stopped: removes the socket at `path` only if it is still the one we bound (same inode). */
export function releaseSocketPath(path: string, bound: { ino: number; dev: number } | undefined): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st && bound && st.isSocket() && st.ino === bound.ino && st.dev === bound.dev) rmSync(path, { force: true });
}

/** The identity of the socket just bound at `path`, for releaseSocketPath. */
export function boundSocket(path: string): { ino: number; dev: number } | undefined {
  const st = lstatSync(path, { throwIfNoEntry: false });
  return st?.isSocket() ? { ino: st.ino, dev: st.dev } : undefined;
}
