/**
 * Sending the capabilities in the rc3 profile (docs/protocol.md §3): one
 * route, `PUT /api/v1/capabilities/{deviceId}`, 201 when the WFM created the
 * record and 200 when it updated it; there is no POST. Sent at the first check
 * of each run (the WFM may have lost its record; a PUT is idempotent) and then
 * whenever the body changes. What was accepted is remembered in the store (the
 * client, the URL and the digest of the exact body), so a change is noticed
 * across restarts too.
 */
import { AgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import type { MetaStore } from "../onboarding/ensure-onboarded.ts";
import { sha256Digest } from "../protocol/digest.ts";
import { isContentProblem, isIdentityProblem } from "../protocol/problem.ts";
import type { WfmProfile } from "../protocol/profiles/types.ts";
import type { PostOutcome, WfmClient } from "../protocol/wfm-client.ts";

/** Store meta key: "<client> <url> <digest>" of the body the WFM last accepted. */
export const CAPABILITIES_PUT_META = "capabilitiesPut";

export interface PutCapabilitiesOptions {
  client: WfmClient;
  /** The profile whose route and frame are used (rc3). */
  profile: WfmProfile;
  store: MetaStore;
  /** Who the WFM knows us as (rc3: the SVID's SPIFFE ID): a new client must report anew. */
  clientKey: string;
  deviceId: string;
  /** The framed body (profile.capabilitiesBody). */
  body: object;
  /** Send even when the WFM accepted this very body before (the first check of a run). */
  force?: boolean;
  log: Logger;
}

export type PutOutcome = { kind: "unchanged"; digest: string } | { kind: "sent"; status: number; url: string; digest: string };

type Failed = Extract<PostOutcome, { kind: "failed" }>;

function rejection(what: string, out: Failed, profile: WfmProfile): AgentError {
  const p = out.problem;
  const details = { status: out.status, problemType: p.type, retryable: p.retryable, ...(p.retryAfterMs !== undefined ? { retryAfterMs: p.retryAfterMs } : {}) };
  if (isIdentityProblem(p)) return new AgentError("IDENTITY_REJECTED", `${what}: ${profile.identityRefusal(p)}`, details);
  if (isContentProblem(p)) return new AgentError("REPORT_REJECTED", `${what}: capabilities rejected: ${p.summary}`, details);
  if (p.kind === "gateway-not-found") {
    return new AgentError("REPORT_REJECTED", `${what}: the WFM knows no gateway for this child device id (report the gateway's own capabilities first): ${p.summary}`, details);
  }
  return new AgentError("WFM_HTTP_ERROR", `${what}: unexpected ${p.summary}`, details);
}

/** Throws AgentError (IDENTITY_REJECTED, REPORT_REJECTED, WFM_HTTP_ERROR, WFM_UNREACHABLE, …) when not accepted. */
export async function putCapabilities(opts: PutCapabilitiesOptions): Promise<PutOutcome> {
  const { client, profile, store, log } = opts;
  const body = JSON.stringify(opts.body);
  const digest = sha256Digest(body);
  const routes = profile.routes(undefined);
  if (!routes) throw new AgentError("INTERNAL", `profile ${profile.name} needs a clientId for its routes: its capabilities are not PUT this way`);
  const url = client.url(routes.capabilities(opts.deviceId));
  const record = `${opts.clientKey} ${url} ${digest}`;
  if (!opts.force && store.getMeta(CAPABILITIES_PUT_META) === record) return { kind: "unchanged", digest };
  const out = await client.send("PUT", url, body);
  if (out.kind === "failed") throw rejection(`PUT ${url}`, out, profile);
  store.setMeta(CAPABILITIES_PUT_META, record);
  // 201: the WFM created the record; 200: updated. Any other 2xx is taken as accepted too.
  log.info({ method: "PUT", url, status: out.status, digest }, out.status === 201 ? "capabilities reported" : "capabilities updated");
  return { kind: "sent", status: out.status, url, digest };
}
