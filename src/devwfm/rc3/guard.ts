/**
 * Who may call what on an rc3 dev WFM, in one place. Every Margo route
 * (/api/v1/*) needs a verified client SVID of this WFM; the caller is that
 * SPIFFE ID, never anything in the path or a header. Everything else (the
 * page, /api/dev/*, /packages/*, /.well-known/*) is public, as on a v1 dev WFM.
 *
 * Refused: no certificate, one that chains to no anchor, one of another WFM
 * (or a WFM certificate, two URI SANs…): 403 not-authorized with the reason,
 * `Connection: close`, logged as CLIENT_IDENTITY_REFUSED. A retired client
 * (POST /api/dev/clients/{clientId}/retire) gets not-authorized too: what a
 * WFM answers a client relationship it has ended.
 */
import type { Context, Hono } from "hono";
import type { MtlsPeer } from "../../trust/index.ts";
import type { DevWfmContext } from "../context.ts";
import { callerOf } from "./listener.ts";
import { margoProblem } from "./problems.ts";

const PEER = "rc3Peer";

/** The verified peer of an /api/v1/* request (set by the guard). */
export function peerOf(c: Context): MtlsPeer {
  const peer = c.get(PEER as never) as MtlsPeer | undefined;
  if (peer === undefined) throw new Error("rc3 route reached without the guard");
  return peer;
}

export function registerRc3Guard(app: Hono, ctx: DevWfmContext): void {
  const rc3 = ctx.rc3!;
  app.use("/api/v1/*", async (c, next) => {
    const caller = callerOf(c.req.raw);
    if (caller === undefined || caller.kind !== "client") {
      const refusal = caller ?? { kind: "anonymous" as const, address: null, spiffeId: null, reason: "the request did not come through the mTLS listener" };
      rc3.recordRefusal({ address: refusal.address, spiffeId: refusal.spiffeId, reason: refusal.reason });
      ctx.log.warn({ code: "CLIENT_IDENTITY_REFUSED", address: refusal.address, spiffeId: refusal.spiffeId, path: c.req.path }, `mTLS client refused: ${refusal.reason}`);
      return margoProblem(c, "notAuthorized", refusal.reason, { headers: { Connection: "close" } });
    }
    const id = caller.peer.spiffeId.id;
    if (rc3.retired.has(id)) {
      ctx.log.info({ spiffeId: id, path: c.req.path }, "retired client refused (not-authorized)");
      return margoProblem(c, "notAuthorized", `the client relationship of ${id} has been retired by this WFM`);
    }
    const at = ctx.iso();
    const seen = rc3.seen.get(id);
    if (seen) {
      seen.lastSeen = at;
      seen.requests += 1;
      seen.notAfter = caller.peer.notAfter.toISOString();
      seen.tlsVersion = caller.peer.tlsVersion;
    } else {
      rc3.seen.set(id, { spiffeId: id, firstSeen: at, lastSeen: at, notAfter: caller.peer.notAfter.toISOString(), tlsVersion: caller.peer.tlsVersion, requests: 1 });
      ctx.log.info({ spiffeId: id, tls: caller.peer.tlsVersion }, "rc3 client connected");
    }
    c.set(PEER as never, caller.peer as never);
    await next();
  });
}
