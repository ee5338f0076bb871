/**
 * The one Bun-specific piece of src/trust: a connection pool with our mTLS
 * options (Bun.FetchSession, Bun ≥ 1.4). Its checkServerIdentity runs once per
 * connection and the connection is then reused by the session's requests;
 * the same function passed to a plain fetch() would cost a full handshake on
 * every request. Belongs behind the platform seam (src/adapter/bun) once the
 * rc3 profile is wired; it lives here until then so the trust module is whole.
 */
import type { ClientTlsOptions } from "./client-tls.ts";
import type { SessionFactory, TlsSession } from "./mtls-connector.ts";

export const bunSessionFactory: SessionFactory = (tls: ClientTlsOptions): TlsSession => {
  const session = new Bun.FetchSession({ tls });
  return {
    fetch: (url, init) => session.fetch(url, init),
    close: () => session.close(),
  };
};
