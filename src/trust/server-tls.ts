/**
 * The WFM's side of rc3 mutual TLS, for the dev WFM and the tests
 * (docs/identity-rc3.md, "The WFM side"). Serves a fetch-style handler
 * `(Request, peer) => Response` over TLS that requires a client certificate
 * chaining to the trust bundle, and tells the handler who the client is.
 *
 * Why node:tls under node:http, not Bun.serve: on Bun 1.4.5, Bun.serve with
 * `tls: {requestCert: true, rejectUnauthorized: true, ca}` does refuse a
 * client without a valid certificate, but the handler cannot see the
 * certificate, so it can neither check the SPIFFE ID form nor know the
 * caller; node:https's `req.socket` has no getPeerCertificate in Bun either.
 * A node:tls server's sockets do, and handing each one to a node:http server
 * ('connection' event) gives HTTP/1.1 on top (test/integration/trust/).
 *
 * Refusals: no certificate or one that does not chain to the anchors fail
 * the handshake (the TLS stack). A valid certificate whose SPIFFE ID is not
 * spiffe://<td>/margo/wfm/<this wfm-id>/client/<id> gets 403 problem+json
 * `not-authorized` and the connection is closed; the handler never runs.
 * Which clients are accepted beyond that (the accepted-client policy) is the
 * handler's decision, from `peer.spiffeId`.
 */
import { peerDer, readBody, toRequest, writeResponse } from "./http-bridge.ts";
import { createHash, X509Certificate } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { Logger } from "../log.ts";
import type { SecretText } from "./secret.ts";
import { isClientOf, parseClientId, SpiffeIdError, type MargoClientId, type MargoWfmId } from "./spiffe-id.ts";
import { leafSvidProblem, x509Facts } from "./x509-facts.ts";

export interface ServerTlsMaterial {
  /** The WFM's leaf and intermediates (PEM). */
  chainPem: string;
  key: SecretText;
  /** Anchors that client SVIDs must chain to. */
  anchorsPem: readonly string[];
}

export interface MtlsPeer {
  address: string | null;
  spiffeId: MargoClientId;
  /** SHA-256 of the client's leaf DER, hex. */
  fingerprint: string;
  notAfter: Date;
  tlsVersion: string | null;
}

export interface RefusedClient {
  address: string | null;
  /** The SPIFFE ID presented, when the handshake got that far. */
  spiffeId: string | null;
  reason: string;
}

export interface MtlsServerOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** This WFM's own ID: clients must be in its namespace. */
  wfm: MargoWfmId;
  material: ServerTlsMaterial;
  log?: Logger;
  /** Default 16 MiB. */
  maxBodyBytes?: number;
  minTlsVersion?: "1.2" | "1.3";
  /** Called for each refused client (the dev WFM's page lists them). */
  onRefused?: (client: RefusedClient) => void;
  /**
   * Public endpoints on the same port (the dev WFM's /.well-known/margo and
   * SPIFFE bundle, which a client fetches before it can validate SVIDs).
   * With this set, a handshake without a valid client certificate completes,
   * but such a connection reaches only these exact paths, through this
   * handler; every other path answers 403 as above. Without it (the default),
   * such a handshake fails.
   */
  anonymous?: { paths: readonly string[]; handler: (req: Request) => Response | Promise<Response> };
}

export interface MtlsServer {
  readonly port: number;
  readonly hostname: string;
  /** https://<hostname>:<port> */
  readonly url: string;
  /** Swaps the server's SVID or anchors for new connections (rotation). */
  setMaterial(material: ServerTlsMaterial): void;
  stop(): Promise<void>;
}

export type MtlsHandler = (req: Request, peer: MtlsPeer) => Response | Promise<Response>;

/** Checks a client's leaf certificate (DER) against this WFM's namespace. */
export function checkClientCertificate(wfm: MargoWfmId, der: Uint8Array): { ok: true; spiffeId: MargoClientId } | { ok: false; spiffeId: string | null; reason: string } {
  let facts;
  try {
    facts = x509Facts(der);
  } catch (err) {
    return { ok: false, spiffeId: null, reason: `the client certificate's extensions cannot be read (${(err as Error).message})` };
  }
  const problem = leafSvidProblem(facts);
  if (problem !== undefined) return { ok: false, spiffeId: facts.uris[0] ?? null, reason: `the client certificate is not an X.509-SVID: ${problem}` };
  const uri = facts.uris[0]!;
  let id: MargoClientId;
  try {
    id = parseClientId(uri);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    return { ok: false, spiffeId: uri, reason: err.message };
  }
  if (!isClientOf(id, wfm)) {
    return { ok: false, spiffeId: uri, reason: `${uri} is not a client of ${wfm.id} (trust domain and wfm-id must be this WFM's)` };
  }
  return { ok: true, spiffeId: id };
}

function secureContextOptions(material: ServerTlsMaterial) {
  return { cert: material.chainPem, key: material.key.reveal(), ca: [...material.anchorsPem] };
}

const NOT_AUTHORIZED = "https://docs.margo.org/specification/problem-types#not-authorized";





/** Starts the mTLS server. Resolves once it listens. */
export async function serveMtls(handler: MtlsHandler, opts: MtlsServerOptions): Promise<MtlsServer> {
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  const peers = new WeakMap<Socket, MtlsPeer | RefusedClient>();
  const sockets = new Set<Socket>();
  const refuse = (client: RefusedClient) => {
    opts.log?.warn({ code: "CLIENT_IDENTITY_REFUSED", address: client.address, spiffeId: client.spiffeId }, `mTLS client refused: ${client.reason}`);
    opts.onRefused?.(client);
  };

  const anonymousPaths = new Set(opts.anonymous?.paths ?? []);
  const reported = new WeakSet<Socket>();
  const http = createHttpServer(async (req, res) => {
    const peer = peers.get(req.socket);
    const path = (req.url ?? "/").split("?")[0]!;
    const anonymous = opts.anonymous !== undefined && anonymousPaths.has(path) && (req.method === "GET" || req.method === "HEAD");
    if (!anonymous && (peer === undefined || !("fingerprint" in peer))) {
      const detail = peer?.reason ?? "no verified client SVID on this connection";
      // With public paths, a connection is reported only once it asks for more than them.
      if (peer !== undefined && opts.anonymous !== undefined && !reported.has(req.socket)) {
        reported.add(req.socket);
        refuse(peer as RefusedClient);
      }
      res.writeHead(403, { "content-type": "application/problem+json", connection: "close" });
      res.end(JSON.stringify({ type: NOT_AUTHORIZED, title: "Not authorized", status: 403, detail, retryable: false }));
      return;
    }
    try {
      const needsBody = req.method !== "GET" && req.method !== "HEAD";
      const body = needsBody ? await readBody(req, maxBody) : undefined;
      if (body === "too-large") {
        res.writeHead(413, { "content-type": "application/problem+json", connection: "close" });
        res.end(JSON.stringify({ type: "about:blank", title: "Content Too Large", status: 413, detail: `the body exceeds ${maxBody} bytes` }));
        req.socket.destroy();
        return;
      }
      const request = toRequest(req, body, `${opts.hostname}:${server.port}`);
      const response = anonymous ? await opts.anonymous!.handler(request) : await handler(request, peer as MtlsPeer);
      await writeResponse(res, response, req.method === "HEAD");
    } catch (err) {
      opts.log?.error({ err: (err as Error).message }, "mTLS handler failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end();
    }
  });

  const tls = createTlsServer(
    {
      ...secureContextOptions(opts.material),
      requestCert: true,
      rejectUnauthorized: opts.anonymous === undefined,
      minVersion: opts.minTlsVersion === "1.3" ? "TLSv1.3" : "TLSv1.2",
    },
    (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      const address = socket.remoteAddress ?? null;
      const der = socket.authorized ? peerDer(socket) : undefined;
      if (der === undefined) {
        const client: RefusedClient = { address, spiffeId: null, reason: `client certificate not verified (${socket.authorizationError ?? "none presented"})` };
        peers.set(socket, client);
        if (opts.anonymous === undefined) refuse(client);
      } else {
        const checked = checkClientCertificate(opts.wfm, der);
        if (checked.ok) {
          peers.set(socket, {
            address,
            spiffeId: checked.spiffeId,
            fingerprint: createHash("sha256").update(der).digest("hex"),
            notAfter: new X509Certificate(der).validToDate,
            tlsVersion: socket.getProtocol() ?? null,
          });
        } else {
          const client: RefusedClient = { address, spiffeId: checked.spiffeId, reason: checked.reason };
          peers.set(socket, client);
          if (opts.anonymous === undefined) refuse(client);
        }
      }
      http.emit("connection", socket);
    },
  );
  // Handshake failures (no certificate, unknown CA) never reach the listener above.
  tls.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    refuse({ address: socket.remoteAddress ?? null, spiffeId: null, reason: `TLS handshake failed: ${err.code ?? ""} ${err.message}`.trim() });
  });

  await new Promise<void>((resolve, reject) => {
    tls.once("error", reject);
    tls.listen(opts.port, opts.hostname, () => {
      tls.off("error", reject);
      resolve();
    });
  });
  const address = tls.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port;
  const host = opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname;
  const server: MtlsServer = {
    port,
    hostname: opts.hostname,
    url: `https://${host}:${port}`,
    setMaterial: (material) => tls.setSecureContext(secureContextOptions(material)),
    stop: () =>
      new Promise<void>((resolve) => {
        tls.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
  return server;
}
