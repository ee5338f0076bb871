/** Free space, behind a function type so tests can give the puller a disk that fills up. */
import { statfs } from "node:fs/promises";

/** Bytes an unprivileged writer can still use on the file system holding `dir`. */
export type FreeBytes = (dir: string) => Promise<number>;

export const statfsFreeBytes: FreeBytes = async (dir) => {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
};
