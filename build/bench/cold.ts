/**
 * Cold starts: an executable's pages are dropped from the page cache before it
 * is started, so its resident file pages are what it touches, as after a
 * device boot. A warm file reads differently: a freshly written copy is all in
 * the cache and the kernel's fault-around maps up to 16 neighbouring pages per
 * fault, which adds MiBs to VmRSS that a booted device never shows. Every
 * executable the bench compares is started this way, bare Bun included (from
 * its own copy, since the bench itself runs from Bun's file).
 *
 * Dropping uses posix_fadvise(DONTNEED) on the one file (GNU dd `iflag=nocache
 * count=0`), not the machine-wide drop_caches: other people's caches stay. It
 * cannot drop pages another process maps, so nothing else may run from the
 * file; `fincore` (util-linux) checks what is left.
 */
import { copyFileSync, chmodSync } from "node:fs";

function run(argv: string[]): { code: number; out: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, out: (r.stdout.toString() + r.stderr.toString()).trim() };
}

/** Bytes of `file` in the page cache, or undefined when fincore is not installed. */
export function residentBytes(file: string): number | undefined {
  const r = run(["fincore", "--bytes", "--noheadings", "--output", "RES", file]);
  if (r.code !== 0) return undefined;
  const n = Number(r.out.split(/\s+/)[0]);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Drops `file` from the page cache (dirty pages are written first: DONTNEED
 * skips them). Throws when more than `toleranceBytes` stays resident, which
 * means some process still maps it and the start would not be cold.
 */
export function dropFromPageCache(file: string, toleranceBytes = 1024 * 1024): void {
  const synced = run(["sync", file]);
  if (synced.code !== 0) throw new Error(`sync ${file}: ${synced.out}`);
  const dropped = run(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);
  if (dropped.code !== 0) throw new Error(`dd iflag=nocache ${file}: ${dropped.out}`);
  const left = residentBytes(file);
  if (left !== undefined && left > toleranceBytes) {
    throw new Error(`${file}: ${left} bytes stay in the page cache after posix_fadvise(DONTNEED); is another process running from it?`);
  }
}

/** A private copy of an executable (so that dropping it does not fight a process running from the original). */
export function privateCopy(from: string, to: string): string {
  copyFileSync(from, to);
  chmodSync(to, 0o755);
  return to;
}
