/**
 * Sending the capabilities (PROTOCOL.md §3): POST the first time for a
 * clientId, PUT when the body changed since the WFM last accepted it, nothing
 * when it is the same. What was accepted is remembered in the store (digest of
 * the exact body, the clientId it was for, and which path form worked), so a
 * restart does not re-send an unchanged body.
 *
 * The path is a profile detail: rc.2 has `/clients/{clientId}/capabilities/{deviceId}`,
 * the markdown specification `/clients/{clientId}/capabilities`. We try the rc.2
 * form first and fall back on 404/405, then stick to what worked.
 */
import { AgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { sha256Digest } from "../protocol/digest.ts";
import type { PostOutcome, WfmClient } from "../protocol/wfm-client.ts";
import type { MetaStore } from "../onboarding/ensure-onboarded.ts";
import { clockSkewError } from "../onboarding/clock-skew.ts";
import type { DeviceCapabilitiesManifest } from "./manifest.ts";
import { META } from "../store/meta-keys.ts";

export const CAPABILITIES_META = {
  digest: META.capabilitiesDigest,
  clientId: META.capabilitiesClientId,
  pathForm: META.capabilitiesPathForm,
} as const;

type PathForm = "device" | "client";
type Failed = Extract<PostOutcome, { kind: "failed" }>;

export interface ReportCapabilitiesOptions {
  client: WfmClient;
  store: MetaStore;
  clientId: string;
  manifest: DeviceCapabilitiesManifest;
  log: Logger;
  nowMs?: () => number;
}

export type ReportOutcome =
  | { kind: "unchanged"; digest: string }
  | { kind: "sent"; method: "POST" | "PUT"; url: string; status: number; digest: string };

function pathFor(form: PathForm, clientId: string, deviceId: string): string {
  const base = `/api/v1/clients/${encodeURIComponent(clientId)}/capabilities`;
  // A child device id is "parent/child": each segment is encoded, the slashes stay.
  return form === "device" ? `${base}/${deviceId.split("/").map(encodeURIComponent).join("/")}` : base;
}

function rejection(what: string, out: Failed, nowMs: number): AgentError {
  const said = out.body.trim().slice(0, 300) || "(no body)";
  const details = { status: out.status };
  if (out.status === 401) {
    return clockSkewError(what, 401, out.serverDate, nowMs) ?? new AgentError("IDENTITY_REJECTED", `${what}: 401 signature not accepted: ${said}`, details);
  }
  if (out.status === 403) return new AgentError("IDENTITY_REJECTED", `${what}: 403 the WFM does not trust this device's certificate: ${said}`, details);
  if (out.status === 400 || out.status === 422) return new AgentError("REPORT_REJECTED", `${what}: ${out.status} capabilities rejected: ${said}`, details);
  return new AgentError("WFM_HTTP_ERROR", `${what}: unexpected ${out.status}: ${said}`, details);
}

/** Throws AgentError (IDENTITY_REJECTED, CLOCK_SKEW, REPORT_REJECTED, WFM_HTTP_ERROR, WFM_UNREACHABLE) when not accepted. */
export async function reportCapabilities(opts: ReportCapabilitiesOptions): Promise<ReportOutcome> {
  const { client, store, clientId, manifest, log } = opts;
  const body = JSON.stringify(manifest);
  const digest = sha256Digest(body);
  const sentForThisClient = store.getMeta(CAPABILITIES_META.clientId) === clientId;
  const previous = sentForThisClient ? store.getMeta(CAPABILITIES_META.digest) : undefined;
  if (previous === digest) return { kind: "unchanged", digest };

  const preferred: PathForm = store.getMeta(CAPABILITIES_META.pathForm) === "client" ? "client" : "device";
  const forms: PathForm[] = preferred === "device" ? ["device", "client"] : ["client", "device"];
  const now = opts.nowMs ?? Date.now;

  type Sent = Extract<ReportOutcome, { kind: "sent" }>;
  type NotFound = { kind: "not-found"; what: string; out: Failed };
  const attempt = async (method: "POST" | "PUT"): Promise<Sent | NotFound> => {
    let last: NotFound | undefined;
    for (const form of forms) {
      const url = `${client.baseUrl}${pathFor(form, clientId, manifest.properties.id)}`;
      let out = await client.post(method, url, body);
      let used = method;
      // The WFM already has capabilities for us (e.g. our store was reset): update them.
      if (out.kind === "failed" && out.status === 409 && method === "POST") {
        used = "PUT";
        out = await client.post("PUT", url, body);
      }
      if (out.kind === "accepted") {
        store.setMeta(CAPABILITIES_META.digest, digest);
        store.setMeta(CAPABILITIES_META.clientId, clientId);
        store.setMeta(CAPABILITIES_META.pathForm, form);
        log.info({ method: used, url, status: out.status, digest }, used === "POST" ? "capabilities reported" : "capabilities changed: updated");
        return { kind: "sent", method: used, url, status: out.status, digest };
      }
      if (out.status !== 404 && out.status !== 405) throw rejection(`${used} ${url}`, out, now());
      last = { kind: "not-found", what: `${used} ${url}`, out };
    }
    return last!;
  };

  const first = await attempt(previous === undefined ? "POST" : "PUT");
  if (first.kind === "sent") return first;
  // PUT found nothing on either path: the WFM lost our capabilities; report them anew.
  const final = previous !== undefined && first.out.status === 404 ? await attempt("POST") : first;
  if (final.kind === "sent") return final;
  throw rejection(final.what, final.out, now());
}
