import type { StreamingProcess } from "../types.ts";

const empty = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

/** Bun.spawn with both outputs as streams (container logs, which may run until cancelled). */
export function spawnStreaming(argv: string[], opts: { env?: Record<string, string>; signal?: AbortSignal } = {}): StreamingProcess {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(argv, { env: opts.env ?? (process.env as Record<string, string>), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    // ENOENT and friends, as a shell would say it, without a shell.
    const message = new TextEncoder().encode(`${String((err as Error).message ?? err)}\n`);
    return { stdout: empty(), stderr: new ReadableStream({ start: (c) => (c.enqueue(message), c.close()) }), exited: Promise.resolve(127), kill: () => {} };
  }
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
  };
  opts.signal?.addEventListener("abort", kill, { once: true });
  const exited = proc.exited.finally(() => opts.signal?.removeEventListener("abort", kill));
  return { stdout: proc.stdout as ReadableStream<Uint8Array>, stderr: proc.stderr as ReadableStream<Uint8Array>, exited, kill };
}
