/** How a dev WFM is configured: what createDevWfm takes and every route may read. */
import type { Logger } from "../log.ts";
import type { FaultSpec } from "./types.ts";

/**
 * Which Margo interface the dev WFM speaks (src/devwfm/README.md):
 * - "rc3" (1.0.0-rc.3): HTTPS with its own WFM SVID, client SVIDs required
 *   (mutual TLS), no clientId in paths, problem+json errors;
 * - "v1" (1.0.0-rc.2): plain HTTP, onboarding, RFC 9421 signatures.
 */
export type DevWfmProfile = "rc3" | "v1";
export const DEV_WFM_PROFILES: readonly DevWfmProfile[] = ["rc3", "v1"];

export interface Rc3Options {
  /** Used when the state dir has no trust domain yet; a different one later is refused. Default margo-dev.local. */
  trustDomain?: string;
  /** Likewise, this WFM's wfm-id. Default dev-wfm. */
  wfmId?: string;
  /** spiffe_refresh_hint of the served SPIFFE bundle, seconds. Default 300. */
  bundleRefreshHintSeconds?: number;
}

export interface DevWfmOptions {
  /** The folder of ApplicationDeployment YAMLs (and packages/). */
  dir: string;
  /** Also serve the folder as a Git repository (committed on every change) at /git/fleet.git, kept here. */
  gitDir?: string;
  log: Logger;
  /**
   * Default "v1" here, for the callers that embed a dev WFM in their tests;
   * the CLI's default is "rc3".
   */
  profile?: DevWfmProfile;
  /**
   * Where the WFM keeps what outlives it: state.json (manifestVersion,
   * clients), and in rc3 the CA (ca/), rc3.json and issued/. The CLI passes
   * ~/.local/state/margo-dev-wfm (or --state); embedded callers that pass
   * neither this nor stateFile get DIR/.dev-wfm.
   */
  stateDir?: string;
  /** The state.json path alone (older callers); its folder is the state dir. */
  stateFile?: string;
  rc3?: Rc3Options;
  /** Refuse unsigned requests (401). Default false. v1 only. */
  requireSignatures?: boolean;
  /** "manual": onboarding answers 403 until the client is approved. Default "auto". v1 only. */
  approve?: "auto" | "manual";
  faults?: FaultSpec;
  /** Served at GET /api/v1/onboarding/certificate; 404 when absent. v1 only. */
  caCertificate?: Uint8Array;
  /**
   * What {{WFM_URL}} becomes. When unset, the origin of each request is used,
   * which changes the served bytes (and so bumps manifestVersion) if clients
   * use different host names: servers set it (startDevWfm does).
   */
  baseUrl?: string;
  /** Milliseconds since the epoch; default Date.now. Used for timestamps and the signature window. */
  now?: () => number;
}
