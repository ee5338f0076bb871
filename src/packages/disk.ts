import { statfs } from "node:fs/promises";
import { AgentError } from "../errors/index.ts";

/** Bytes available to the agent on the file system holding `dir`. */
export type FreeSpaceProbe = (dir: string) => Promise<number>;

export const statfsFreeSpace: FreeSpaceProbe = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};

/**
 * Throws DISK_SPACE_LOW when the file system holding `dir` has less than `minFreeBytes` available,
 * or would have after writing `needBytes` more.
 */
export async function checkFreeSpace(dir: string, minFreeBytes: number, needBytes = 0, probe: FreeSpaceProbe = statfsFreeSpace): Promise<void> {
  if (minFreeBytes <= 0) return;
  const free = await probe(dir);
  if (free - needBytes < minFreeBytes) {
    const after = needBytes > 0 ? ` (${needBytes} more bytes are about to be written)` : "";
    throw new AgentError("DISK_SPACE_LOW", `only ${free} bytes free on the file system of ${dir}${after}; the agent keeps ${minFreeBytes} bytes in reserve and writes nothing below that`, {
      dir,
      free,
      reserve: minFreeBytes,
      need: needBytes,
    });
  }
}

/** Room asked for at a time when a write's total size is not known up front (a download without Content-Length). */
export const SPACE_CHECK_INTERVAL = 4 * 1024 * 1024;

/**
 * Keeps the reserve while data streams to disk, so it is never undercut: each check asks for room
 * beyond the reserve, and writes then draw on that room until it is used up. When the size of
 * what follows is known (`exact`: a declared Content-Length, a file size from a tar header) the
 * check asks for exactly that; otherwise for SPACE_CHECK_INTERVAL at a time, so a check comes
 * every few MiB and may refuse up to that much early.
 */
export class SpaceGuard {
  private room = 0;

  constructor(
    private readonly dir: string,
    private readonly minFreeBytes: number,
    private readonly probe: FreeSpaceProbe = statfsFreeSpace,
  ) {}

  /** Before writing `bytes` more; with `exact`, `bytes` is all that follows for now. */
  async need(bytes: number, exact = false): Promise<void> {
    if (this.minFreeBytes <= 0) return;
    if (bytes <= this.room) {
      this.room -= bytes;
      return;
    }
    const ask = exact ? bytes : Math.max(bytes, SPACE_CHECK_INTERVAL);
    await checkFreeSpace(this.dir, this.minFreeBytes, ask, this.probe);
    this.room = ask - bytes;
  }
}
