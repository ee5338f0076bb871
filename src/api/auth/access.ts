/**
 * The local API's access rules, as one pure decision:
 * - with a token configured, non-loopback callers must present it;
 * - loopback callers read without a token;
 * - guarded routes — every POST (sync, restart: they change what the agent
 *   does) and workload logs (they may carry secrets) — need the token whenever
 *   one is configured, even on loopback, and are refused to non-loopback
 *   callers when none is (the agent refuses to start that way, but be safe).
 * A unix socket peer (address null) counts as loopback: the socket's file mode gates it.
 */
import { isLoopbackAddress } from "./loopback.ts";
import { bearerToken, tokenMatches } from "./token.ts";

export type AccessVerdict = { ok: true } | { ok: false; status: 401 | 403; code: "API_UNAUTHORIZED" | "API_FORBIDDEN"; message: string };

export interface AccessRequest {
  peerAddress: string | null;
  authorization: string | null | undefined;
  /** True for actions (POST) and workload logs: see middleware.ts isGuarded. */
  guarded: boolean;
}

export function decideAccess(req: AccessRequest, configuredToken: string | null): AccessVerdict {
  const local = req.peerAddress === null || isLoopbackAddress(req.peerAddress);
  const presented = bearerToken(req.authorization);
  const authenticated = configuredToken !== null && presented !== undefined && tokenMatches(presented, configuredToken);
  if (configuredToken === null) {
    if (req.guarded && !local) return { ok: false, status: 403, code: "API_FORBIDDEN", message: "actions and logs from a non-loopback address need api.token to be configured" };
    return { ok: true };
  }
  if (authenticated) return { ok: true };
  if (local && !req.guarded) return { ok: true };
  return {
    ok: false,
    status: 401,
    code: "API_UNAUTHORIZED",
    message: presented === undefined ? "missing Authorization: Bearer <api.token>" : "wrong token in Authorization: Bearer",
  };
}
