/** What the kernel says about a process: resident memory and CPU time (Linux /proc). */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/PID/stat's utime/stime (USER_HZ; 100 on every Linux we ship to). */
export function clockTicksPerSecond(): number {
  const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
  const n = Number(r.stdout.toString().trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** VmRSS in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line`);
  return Number(m[1]) * 1024;
}

/** utime + stime of the process itself (not its children), in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces and parentheses: fields start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based); fields[0] is field 3.
  return Number(fields[11]) + Number(fields[12]);
}
