/**
 * A connection pool with the rc3 mTLS options (Bun.FetchSession, Bun ≥ 1.4),
 * behind the platform seam. Its checkServerIdentity runs once per connection
 * and the connection is then reused by the session's requests; the same
 * function passed to a plain fetch() would cost a full handshake on every
 * request (docs/identity-rc3.md).
 */
import type { ClientTlsOptions, SessionFactory, TlsSession } from "../types.ts";

export const bunSessionFactory: SessionFactory = (tls: ClientTlsOptions): TlsSession => {
  const session = new Bun.FetchSession({ tls });
  return {
    fetch: (url, init) => session.fetch(url, init),
    close: () => session.close(),
  };
};
