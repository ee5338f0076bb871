/**
 * Downloading packages, keys and signatures. Redirects are followed here, by hand, so every hop
 * is judged by the URL policy before it is requested (a fetch that follows redirects itself
 * would already have sent the request when the policy sees the final URL). The body is read
 * with a size bound enforced while it streams in; bodies of redirects and errors are never
 * read, only cancelled.
 */
import { concatBytes } from "../util/bytes.ts";
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { AgentError } from "../errors/index.ts";
import { checkPackageUrl } from "./url-policy.ts";

/**
 * How the download reaches the network. It is called with `redirect: "manual"` and must honour
 * it (return 3xx answers as they are); a response that was redirected anyway is judged by its
 * final URL, as a last line of defence.
 */
export type PackageFetch = (url: string, init: { redirect: "manual" }) => Promise<Response>;

export interface DownloadOptions {
  fetch: PackageFetch;
  maxBytes: number;
  allowInsecureHttp: boolean;
  /** Names the artifact in messages: "package", "signature", "public key". */
  what: string;
  /** Most redirects followed; DEFAULT_MAX_REDIRECTS when absent. */
  maxRedirects?: number;
}

export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The body of `url`, in memory; for small artifacts (keys, signatures). */
export async function download(url: string, opts: DownloadOptions): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const total = await streamBody(url, opts, (chunk) => {
    chunks.push(chunk);
  });
  return concatBytes(chunks, total);
}

export interface FileDownloadOptions extends DownloadOptions {
  /**
   * Called before bytes are written: once with the declared length (exact: true) when the server
   * gives one, then before each chunk. Throw to stop (the disk reserve).
   */
  beforeWrite?: (bytes: number, exact: boolean) => Promise<void> | void;
}

/** Streams the body of `url` into a new file at `path` (created exclusively), hashing it on the way. */
export async function downloadToFile(url: string, path: string, opts: FileDownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash("sha256");
  let file: FileHandle | undefined;
  let written = 0;
  try {
    file = await open(path, "wx");
    const out = file;
    const bytes = await streamBody(url, opts, async (chunk, declared) => {
      if (written === 0 && declared !== undefined) await opts.beforeWrite?.(declared, true);
      await opts.beforeWrite?.(chunk.byteLength, false);
      hash.update(chunk);
      for (let at = 0; at < chunk.byteLength; ) at += (await out.write(chunk, at)).bytesWritten;
      written += chunk.byteLength;
    });
    await file.close();
    file = undefined;
    return { bytes, sha256: hash.digest("hex") };
  } finally {
    await file?.close().catch(() => {});
  }
}

/** Opens `url` (following redirects by hand) and hands each body chunk to `sink`; returns the byte count. */
async function streamBody(url: string, opts: DownloadOptions, sink: (chunk: Uint8Array, declared: number | undefined) => Promise<void> | void): Promise<number> {
  const { res, finalUrl } = await openFollowingRedirects(url, opts);
  const length = res.headers.get("content-length");
  const declared = length !== null && /^[0-9]{1,15}$/.test(length.trim()) ? Number(length.trim()) : undefined;
  if (declared !== undefined && declared > opts.maxBytes) {
    await cancel(res);
    throw tooLarge(url, opts, `declares ${declared} bytes`);
  }
  if (!res.body) return 0;
  const reader = res.body.getReader();
  let total = 0;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (err) {
        throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url}: download interrupted: ${(err as Error).message}`, { url: finalUrl }, { cause: err });
      }
      if (next.done) return total;
      total += next.value.byteLength;
      if (total > opts.maxBytes) throw tooLarge(url, opts, "sent more than that");
      await sink(next.value, declared);
    }
  } finally {
    // Stops an endless or refused body; a no-op once it has been read to the end.
    await reader.cancel().catch(() => {});
  }
}

/**
 * Requests `url`, and each redirect target after checking it: the URL policy (https unless
 * insecure http is allowed; never another scheme), a cap on hops, no loops. Credentials written
 * into the original URL (user:password@) go to its own origin only. Returns a 2xx response.
 */
async function openFollowingRedirects(url: string, opts: DownloadOptions): Promise<{ res: Response; finalUrl: string }> {
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  checkPackageUrl(url, opts.allowInsecureHttp, opts.what);
  const visited = new Set<string>();
  let current = url;
  for (let hops = 0; ; hops++) {
    visited.add(current);
    let res: Response;
    try {
      res = await opts.fetch(current, { redirect: "manual" });
    } catch (err) {
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${describe(url, current)} could not be downloaded: ${(err as Error).message}`, { url: current }, { cause: err });
    }
    // A fetch that followed redirects itself: judge where it ended up (too late to not ask, but never used).
    if (res.redirected || (res.url && res.url !== current)) {
      try {
        checkPackageUrl(res.url, opts.allowInsecureHttp, `${opts.what} (redirected from ${current})`);
      } catch (err) {
        await cancel(res);
        throw err;
      }
    }
    if (!REDIRECTS.has(res.status)) {
      if (res.status >= 200 && res.status < 300) return { res, finalUrl: current };
      await cancel(res);
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${describe(url, current)} could not be downloaded: HTTP ${res.status}`, { url: current, status: res.status });
    }
    const location = res.headers.get("location");
    await cancel(res);
    if (location === null) {
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${describe(url, current)}: HTTP ${res.status} redirect without a Location header`, { url: current, status: res.status });
    }
    let target: URL;
    try {
      target = new URL(location, current);
    } catch {
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${describe(url, current)}: redirect to an invalid URL ${JSON.stringify(location.slice(0, 200))}`, { url: current });
    }
    target.hash = "";
    if (target.origin !== new URL(current).origin) {
      target.username = "";
      target.password = "";
    }
    const next = target.href;
    if (hops + 1 > maxRedirects) {
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url}: more than ${maxRedirects} redirects (the last to ${next})`, { url, maxRedirects });
    }
    if (visited.has(next)) {
      throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url}: redirect loop (${current} → ${next})`, { url });
    }
    checkPackageUrl(next, opts.allowInsecureHttp, `${opts.what} (redirected from ${current})`);
    current = next;
  }
}

function describe(url: string, current: string): string {
  return current === url ? url : `${url} (redirected to ${current})`;
}

async function cancel(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

function tooLarge(url: string, opts: DownloadOptions, how: string): AgentError {
  return new AgentError("PACKAGE_TOO_LARGE", `${opts.what} ${url} exceeds the limit of ${opts.maxBytes} bytes (it ${how}); raise the package size limit if this is expected`, {
    url,
    limit: opts.maxBytes,
  });
}
