/** What the kernel says about a process: resident memory and CPU time (Linux /proc). */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/PID/stat's utime/stime (USER_HZ; 100 on every Linux we ship to). */
export function clockTicksPerSecond(): number {
  const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
  const n = Number(r.stdout.toString().trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** A `kB` line of /proc/PID/status, in bytes. */
function statusBytes(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(m[1]) * 1024;
}

/** VmRSS in bytes: everything resident, file-backed pages of the executable included. */
export function rssBytes(pid: number): number {
  return statusBytes(pid, "VmRSS");
}

/** Resident memory split: anonymous (heaps, allocator, JIT code) and file-backed (the executable's pages). */
export function rssSplit(pid: number): { rss: number; anon: number; file: number } {
  return { rss: statusBytes(pid, "VmRSS"), anon: statusBytes(pid, "RssAnon"), file: statusBytes(pid, "RssFile") };
}

/** utime + stime of the process itself (not its children), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based); fields[0] is field 3.
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU time of every thread of the process, in milliseconds, from
 * /proc/PID/task/TID/schedstat (nanoseconds, so a 15 s window of a mostly idle
 * process is not read in 10 ms clock ticks). A thread that ended inside the
 * window is missed; Bun's threads live as long as the process.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/** CPU time of each thread, in milliseconds, keyed "name/tid" (/proc/PID/task/TID/comm and schedstat). */
export function cpuMsByThread(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      out.set(`${name}/${tid}`, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}
