import type { ProcessResult, RunOptions } from "../types.ts";
import { after } from "../../util/timer.ts";

export async function run(argv: string[], opts: RunOptions = {}): Promise<ProcessResult> {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, {
      cwd: opts.cwd,
      env: opts.env ?? (process.env as Record<string, string>),
      stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    // ENOENT and friends: report like a shell would, without a shell.
    return { code: 127, stdout: "", stderr: String((err as Error).message ?? err), killed: false };
  }
  let killed = false;
  const kill = () => {
    killed = true;
    proc.kill("SIGKILL");
  };
  // The timeout may come from a component's `timeout` in the WFM's YAML: any length must work (not 1 ms past 2^31-1).
  const timer = opts.timeoutMs ? after(opts.timeoutMs, kill) : undefined;
  opts.signal?.addEventListener("abort", kill, { once: true });
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream).text(),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr, killed };
  } finally {
    timer?.cancel();
    opts.signal?.removeEventListener("abort", kill);
  }
}
