import type { ProcessResult, RunOptions } from "../types.ts";
import { after } from "../../util/timer.ts";

const MAX_BOUNDED_STDERR = 64 * 1024;

/** Reads a stream up to `max` bytes; past it calls onOverflow once and drains the rest without keeping it. */
async function readBounded(stream: ReadableStream<Uint8Array>, max: number, onOverflow: () => void): Promise<{ bytes: Uint8Array; overflow: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    if (overflow) continue;
    if (size + chunk.length > max) {
      chunks.push(chunk.subarray(0, max - size));
      size = max;
      overflow = true;
      onOverflow();
      continue;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, overflow };
}

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
    if (opts.maxOutputBytes !== undefined || opts.binaryStdout) {
      const max = opts.maxOutputBytes ?? Number.MAX_SAFE_INTEGER;
      const [out, err, code] = await Promise.all([
        readBounded(proc.stdout as ReadableStream<Uint8Array>, max, () => proc.kill("SIGKILL")),
        readBounded(proc.stderr as ReadableStream<Uint8Array>, opts.maxOutputBytes === undefined ? Number.MAX_SAFE_INTEGER : MAX_BOUNDED_STDERR, () => {}),
        proc.exited,
      ]);
      const stderr = new TextDecoder().decode(err.bytes);
      if (opts.binaryStdout) return { code, stdout: "", stdoutBytes: out.bytes, stderr, killed, overflow: out.overflow };
      return { code, stdout: new TextDecoder().decode(out.bytes), stderr, killed, overflow: out.overflow };
    }
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
