/**
 * What a Margo profile contributes to the agent's start (docs/protocol.md,
 * "Profiles"): how every request to the WFM is authenticated, which device and
 * client it is, and the background work that keeps that identity current. The
 * bootstrap (bootstrap.ts) builds one session for the configured profile,
 * hands its fetch and signer to the one WfmClient, and its tasks to the Agent.
 */
import type { BackgroundTask } from "./tasks.ts";
import type { Config } from "../config/schema.ts";
import type { StatusFormat } from "../protocol/status-manifest.ts";
import type { RequestSigner } from "../protocol/request-signer.ts";
import type { FetchFn } from "../protocol/wfm-client.ts";

export interface IdentityView {
  profile: "v1" | "rc3";
  /** v1: the certificate thumbprint; rc3: the SVID's SPIFFE ID. */
  id: string;
  /** The certificate's notAfter (ISO 8601), when known. */
  notAfter?: string;
  /** Human-readable problems (expiring, not yet approved, …). */
  warnings: string[];
  /** The WFM refuses this client (401/403, rc3 not-authorized): since when, what it said, when the agent onboards again. */
  refused?: { clientId: string; since: string; status: number; detail: string; reonboardAt: string | null };
}

export interface WfmSession {
  readonly profile: "v1" | "rc3";
  /** The device id (capabilities, status bodies). */
  readonly deviceId: string;
  /** How this profile frames a status report (v1: the apiVersion/kind envelope; rc3: bare, with the deviceId). */
  readonly statusFormat?: StatusFormat;
  /** The configuration as the session settled it (v1: wfm.caFile may point at the trust-on-first-use CA). */
  readonly config: Config;
  /** Every WFM request goes through this fetch: v1 server TLS with the CA read once; rc3 mutual TLS with the current SVID and bundle. */
  readonly fetch: FetchFn;
  /** v1 signs every request (RFC 9421); rc3 has no signer. */
  readonly signer?: RequestSigner;
  /** The clientId routes need (v1), or undefined before onboarding. rc3 has no clientId in routes: it returns its SPIFFE client id. */
  clientId(): string | undefined;
  /** Onboarding, capabilities, SVID rotation, trust refresh: started and stopped by the Agent. */
  readonly tasks: readonly BackgroundTask[];
  describe(): IdentityView;
  /** Releases what the session holds (rc3: its pooled mTLS connections). Called when the Agent stops. */
  close?(): void;
}
