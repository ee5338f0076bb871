/**
 * The dev WFM's rc3 socket: HTTPS with the WFM's SVID that asks every client
 * for its certificate, verifies it against the trust anchors, and tells the
 * app who is calling (docs/identity-rc3.md, "The WFM side").
 *
 * Why not serveMtls (src/trust/server-tls.ts) as it is: its public endpoints
 * are a fixed list of exact GET paths, and its handler never sees the socket.
 * The dev WFM must also serve, without a client certificate, its page, its
 * development API (PUT/DELETE too) and DIR/packages/<any path>, and its
 * `down` fault switch must drop the connection before any status line is
 * sent. The security-relevant parts are the same as serveMtls's: the chain
 * is verified by the TLS stack against the anchors (`ca`), and the SPIFFE ID
 * form by checkClientCertificate from src/trust. Which paths need a client is
 * decided in one place, rc3/guard.ts.
 */
import { peerDer, readBody, toRequest, writeResponse } from "../../trust/http-bridge.ts";
import { createHash, X509Certificate } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "../../log.ts";
import { checkClientCertificate, type MargoWfmId, type MtlsPeer, type ServerTlsMaterial } from "../../trust/index.ts";
import { DROP_CONNECTION_HEADER } from "../http.ts";

/** Who is on the other end of a request's connection. */
export type Caller =
  | { kind: "client"; peer: MtlsPeer }
  /** No verified client certificate of this WFM: why, and the SPIFFE ID presented if any. */
  | { kind: "anonymous"; address: string | null; spiffeId: string | null; reason: string };

const callers = new WeakMap<Request, Caller>();

/** The caller of a request the listener made; undefined for requests from anywhere else (in-process fetch). */
export function callerOf(req: Request): Caller | undefined {
  return callers.get(req);
}

export interface HandshakeFailure {
  address: string | null;
  reason: string;
}

export interface Rc3ListenOptions {
  hostname: string;
  port: number;
  wfm: MargoWfmId;
  material: ServerTlsMaterial;
  log: Logger;
  /** Default 16 MiB. */
  maxBodyBytes?: number;
  /** A TLS handshake that failed (the page lists it). */
  onHandshakeFailure?: (failure: HandshakeFailure) => void;
}

export interface Rc3Listener {
  readonly port: number;
  setMaterial(material: ServerTlsMaterial): void;
  stop(): Promise<void>;
}


function callerOfSocket(socket: TLSSocket, wfm: MargoWfmId): Caller {
  const address = socket.remoteAddress ?? null;
  const der = peerDer(socket);
  if (der === undefined) return { kind: "anonymous", address, spiffeId: null, reason: "no client certificate presented: this WFM requires a client X.509-SVID (mutual TLS)" };
  const checked = checkClientCertificate(wfm, der);
  if (!socket.authorized) {
    const why = socket.authorizationError ? String(socket.authorizationError) : "not verified";
    const presented = checked.ok ? checked.spiffeId.id : checked.spiffeId;
    return { kind: "anonymous", address, spiffeId: presented, reason: `the client certificate${presented ? ` (${presented})` : ""} does not chain to this WFM's trust anchors (${why})` };
  }
  if (!checked.ok) return { kind: "anonymous", address, spiffeId: checked.spiffeId, reason: checked.reason };
  return {
    kind: "client",
    peer: {
      address,
      spiffeId: checked.spiffeId,
      fingerprint: createHash("sha256").update(der).digest("hex"),
      notAfter: new X509Certificate(der).validToDate,
      tlsVersion: socket.getProtocol() ?? null,
    },
  };
}




export async function listenRc3(handler: (req: Request) => Response | Promise<Response>, opts: Rc3ListenOptions): Promise<Rc3Listener> {
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const socketCallers = new WeakMap<Socket, Caller>();
  const sockets = new Set<Socket>();
  let port = opts.port;
  const host = () => `${opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname}:${port}`;

  const http = createHttpServer(async (req, res) => {
    const caller = socketCallers.get(req.socket) ?? { kind: "anonymous", address: null, spiffeId: null, reason: "unknown connection" };
    try {
      const needsBody = req.method !== "GET" && req.method !== "HEAD";
      const body = needsBody ? await readBody(req, maxBody) : undefined;
      if (body === "too-large") {
        res.writeHead(413, { "content-type": "application/problem+json", connection: "close" });
        res.end(JSON.stringify({ type: "about:blank", title: "Content Too Large", status: 413, detail: `the body exceeds ${maxBody} bytes` }));
        req.socket.destroy();
        return;
      }
      // The URL's authority is ours, not the client's Host header: nothing derives trust from it, but
      // {{WFM_URL}} falls back to the request origin when no base URL is set.
      const request = toRequest(req, body, host(), false);
      callers.set(request, caller);
      const response = await handler(request);
      if (response.headers.has(DROP_CONNECTION_HEADER)) {
        // The `down` fault: no status line at all, as a WFM that went away mid-request.
        await response.body?.cancel().catch(() => {});
        req.socket.destroy();
        return;
      }
      await writeResponse(res, response, req.method === "HEAD");
    } catch (err) {
      opts.log.error({ err: (err as Error).message }, "dev WFM rc3 handler failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end();
    }
  });

  const tls = createTlsServer(
    {
      cert: opts.material.chainPem,
      key: opts.material.key.reveal(),
      ca: [...opts.material.anchorsPem],
      requestCert: true,
      // The chain is still verified against `ca` (socket.authorized); the handshake completes
      // without a valid certificate so that public paths answer and everything else gets a
      // problem+json 403 saying why, rather than a bare TLS alert.
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      socketCallers.set(socket, callerOfSocket(socket, opts.wfm));
      http.emit("connection", socket);
    },
  );
  tls.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    const failure = { address: socket.remoteAddress ?? null, reason: `TLS handshake failed: ${err.code ?? ""} ${err.message}`.trim() };
    opts.log.info(failure, "dev WFM: TLS handshake failed");
    opts.onHandshakeFailure?.(failure);
  });

  await new Promise<void>((resolve, reject) => {
    tls.once("error", reject);
    tls.listen(opts.port, opts.hostname, () => {
      tls.off("error", reject);
      resolve();
    });
  });
  const address = tls.address();
  port = typeof address === "object" && address !== null ? address.port : opts.port;
  return {
    port,
    setMaterial: (material) => tls.setSecureContext({ cert: material.chainPem, key: material.key.reveal(), ca: [...material.anchorsPem] }),
    stop: () =>
      new Promise<void>((resolve) => {
        tls.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
