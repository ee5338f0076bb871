import { statfs } from "node:fs/promises";
import { AgentError } from "../errors/index.ts";

/** Throws DISK_SPACE_LOW when the file system holding `dir` has less than `minFreeBytes` available. */
export async function checkFreeSpace(dir: string, minFreeBytes: number): Promise<void> {
  if (minFreeBytes <= 0) return;
  const s = await statfs(dir);
  const free = Number(s.bavail) * Number(s.bsize);
  if (free < minFreeBytes) {
    throw new AgentError("DISK_SPACE_LOW", `only ${free} bytes free on the file system of ${dir}; the agent keeps ${minFreeBytes} bytes in reserve and downloads nothing below that`, {
      dir,
      free,
      reserve: minFreeBytes,
    });
  }
}
