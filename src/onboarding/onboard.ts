/**
 * One onboarding attempt (docs/protocol.md §1.4): a signed POST of the device
 * certificate; the WFM answers with a clientId, or says it has not approved
 * the device yet. Every verdict becomes a result or an AgentError whose code
 * says what the operator must do.
 */
import * as v from "valibot";
import type { DeviceIdentity } from "../identity/load-or-create.ts";
import { AgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { readBounded, readPrefix } from "../protocol/read-body.ts";
import type { WfmClient } from "../protocol/wfm-client.ts";
import { clockSkewError } from "./clock-skew.ts";
import { OnboardingResponseSchema, onboardingRequestBody } from "./response.ts";

export const ONBOARDING_PATH = "/api/v1/onboarding";
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface OnboardOptions {
  client: WfmClient;
  identity: DeviceIdentity;
  log: Logger;
  signal?: AbortSignal;
  /** For tests: the device's idea of now. */
  nowMs?: () => number;
}

/** The WFM's own words ({"error": "…"}, problem+json title/detail, or the text), kept short. */
function wfmMessage(text: string): string {
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const parts = [json.error, json.title, json.detail, json.message].filter((p): p is string => typeof p === "string" && p !== "");
    if (parts.length) return [...new Set(parts)].join(": ").slice(0, 300);
  } catch {
    // not JSON: the raw text below
  }
  return text.trim().slice(0, 300) || "(no body)";
}

/**
 * Throws AgentError: ONBOARDING_PENDING (403, not approved yet: retry later),
 * IDENTITY_INVALID (400, the WFM refuses the certificate), CLOCK_SKEW or
 * IDENTITY_REJECTED (401), WFM_UNREACHABLE, WFM_HTTP_ERROR (anything else,
 * including a 201 without a usable clientId).
 */
export async function onboard(opts: OnboardOptions): Promise<{ clientId: string }> {
  const { client, identity, log } = opts;
  opts.signal?.throwIfAborted();
  const url = `${client.baseUrl}${ONBOARDING_PATH}`;
  const what = `POST ${url}`;
  log.debug({ url, thumbprint: identity.thumbprint }, "onboarding: sending the device certificate");
  const res = await client.request("POST", url, {
    body: new TextEncoder().encode(onboardingRequestBody(identity.certificateDerBase64)),
    headers: { "content-type": "application/json", accept: "application/json" },
  });
  // Only a success's body is needed whole; an error's first KiBs say enough, and a
  // 403 with a huge body must still read as "not approved yet", not as too large.
  const ok = res.status === 201 || res.status === 200;
  const text = ok ? new TextDecoder().decode(await readBounded(res, MAX_RESPONSE_BYTES, what)) : (await readPrefix(res)).text;

  if (res.status === 201 || res.status === 200) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AgentError("WFM_HTTP_ERROR", `${what}: ${res.status} but the body is not JSON: ${text.slice(0, 200)}`, { status: res.status, url });
    }
    const parsed = v.safeParse(OnboardingResponseSchema, json);
    if (!parsed.success) {
      throw new AgentError("WFM_HTTP_ERROR", `${what}: ${res.status} without a usable clientId: ${parsed.issues.map((i) => i.message).join("; ")}`, { status: res.status, url });
    }
    return { clientId: parsed.output.clientId };
  }
  if (res.status === 403) {
    throw new AgentError("ONBOARDING_PENDING", `waiting for approval: the WFM has not approved this device yet (${what}: 403 ${wfmMessage(text)}); certificate thumbprint ${identity.thumbprint}`, {
      status: 403,
      url,
      thumbprint: identity.thumbprint,
    });
  }
  if (res.status === 400) {
    throw new AgentError("IDENTITY_INVALID", `the WFM refuses the device certificate ${identity.certFile} (${what}: 400 ${wfmMessage(text)})`, {
      status: 400,
      url,
      file: identity.certFile,
    });
  }
  if (res.status === 401) {
    const skew = clockSkewError(what, 401, res.headers.get("date"), (opts.nowMs ?? Date.now)());
    if (skew) throw skew;
    throw new AgentError("IDENTITY_REJECTED", `the WFM rejects the onboarding request's signature (${what}: 401 ${wfmMessage(text)}); key ${identity.keyFile}, certificate ${identity.certFile}`, {
      status: 401,
      url,
    });
  }
  throw new AgentError("WFM_HTTP_ERROR", `${what}: unexpected ${res.status} ${wfmMessage(text)}`, { status: res.status, url });
}
