/**
 * Reading a small file an operator named (config, CA, key), with a size bound
 * and only when it is a regular file: `--config /dev/zero` grew the agent to
 * 6.8 GB, and a FIFO would block it forever. Opened non-blocking so a FIFO
 * cannot hang the open itself; the kind and size are checked on the open
 * descriptor, so swapping the file between check and read does not help.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

export type FileProblem = "missing" | "unreadable" | "not-regular" | "too-large";

export class FileReadError extends Error {
  constructor(
    readonly problem: FileProblem,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function kind(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** The file's bytes; throws FileReadError (message names the path) when it cannot be one we accept. */
export function readRegularFile(path: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new FileReadError("missing", path, `${path} does not exist`);
    throw new FileReadError("unreadable", path, `cannot read ${path}: ${code ?? (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError("not-regular", path, `${path} is ${kind(st)}, not a regular file`);
    const tooLarge = () => new FileReadError("too-large", path, `${path} is larger than ${maxBytes} bytes`);
    if (st.size > maxBytes) throw tooLarge();
    // Read up to one byte past the bound: a file growing while we read is caught too.
    const buf = new Uint8Array(maxBytes + 1);
    let used = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, used, buf.length - used, null);
      } catch (err) {
        throw new FileReadError("unreadable", path, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (n === 0) break;
      used += n;
      if (used > maxBytes) throw tooLarge();
    }
    return buf.subarray(0, used);
  } finally {
    closeSync(fd);
  }
}
