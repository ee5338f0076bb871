/**
 * Downloading with a size bound enforced while the body streams in: an
 * oversized (or endless) response is cut off at the limit, never buffered whole.
 */
import { AgentError } from "../errors/index.ts";
import { checkPackageUrl } from "./url-policy.ts";

export interface DownloadOptions {
  fetch: (url: string) => Promise<Response>;
  maxBytes: number;
  allowInsecureHttp: boolean;
  /** Names the artifact in messages: "package", "signature", "public key". */
  what: string;
}

export async function download(url: string, opts: DownloadOptions): Promise<Uint8Array> {
  checkPackageUrl(url, opts.allowInsecureHttp, opts.what);
  let res: Response;
  try {
    res = await opts.fetch(url);
  } catch (err) {
    throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url} could not be downloaded: ${(err as Error).message}`, { url }, { cause: err });
  }
  // A redirect must not downgrade https to http (or leave http/https at all).
  if (res.url && res.url !== url) checkPackageUrl(res.url, opts.allowInsecureHttp, `${opts.what} (redirected from ${url})`);
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url} could not be downloaded: HTTP ${res.status}`, { url, status: res.status });
  }
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (declared > opts.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge(url, opts, `declares ${declared} bytes`);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > opts.maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(url, opts, `sent more than that`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${opts.what} ${url}: download interrupted: ${(err as Error).message}`, { url }, { cause: err });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function tooLarge(url: string, opts: DownloadOptions, how: string): AgentError {
  return new AgentError("PACKAGE_TOO_LARGE", `${opts.what} ${url} exceeds the limit of ${opts.maxBytes} bytes (it ${how}); raise the package size limit if this is expected`, {
    url,
    limit: opts.maxBytes,
  });
}
