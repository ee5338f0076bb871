import { readFileSync } from "node:fs";

/**
 * Bytes this process caused to be written to storage since it started
 * (Linux /proc/self/io write_bytes): flash wear is a device concern. Null
 * where the file does not exist or is not readable (other kernels, hardened /proc).
 */
export function bytesWrittenSinceStart(file = "/proc/self/io"): number | null {
  try {
    const m = /^write_bytes:\s*(\d+)$/m.exec(readFileSync(file, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
