import type { ProcessResult, RunOptions } from "../../platform/types.ts";

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
  const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs) : undefined;
  opts.signal?.addEventListener("abort", kill, { once: true });
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout as ReadableStream).text(),
      new Response(proc.stderr as ReadableStream).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr, killed };
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener("abort", kill);
  }
}
