/**
 * The bridge between a node:http server (the only Bun server that shows a
 * request's TLS peer certificate) and fetch-style handlers: incoming requests
 * as Request objects (bounded bodies), Responses written back, the peer's
 * certificate in DER. Shared by serveMtls and the rc3 dev WFM's listener.
 */
import type { X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";

export function peerDer(socket: TLSSocket): Uint8Array | undefined {
  const x509 = (socket as TLSSocket & { getPeerX509Certificate?: () => X509Certificate | undefined }).getPeerX509Certificate?.();
  if (x509) return new Uint8Array(x509.raw);
  const raw = socket.getPeerCertificate()?.raw;
  return raw && raw.length > 0 ? new Uint8Array(raw) : undefined;
}

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) return "too-large";
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `trustHost`: take the URL's authority from the Host header (else `host` is used). */
export function toRequest(req: IncomingMessage, body: Buffer | undefined, fallbackHost: string, trustHost = true): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  let url: URL;
  try {
    url = new URL(req.url ?? "/", `https://${(trustHost ? req.headers.host : undefined) ?? fallbackHost}`);
  } catch {
    url = new URL(req.url ?? "/", `https://${fallbackHost}`);
  }
  return new Request(url.href, { method: req.method, headers, body: body && body.length > 0 ? new Uint8Array(body) : undefined });
}

export async function writeResponse(res: ServerResponse, response: Response, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (head || response.body === null) {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!res.write(value)) await new Promise<void>((resolve) => res.once("drain", resolve));
  }
  res.end();
}
