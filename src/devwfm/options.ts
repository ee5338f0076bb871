/** How a dev WFM is configured: what createDevWfm takes and every route may read. */
import type { Logger } from "../log.ts";
import type { FaultSpec } from "./types.ts";

export interface DevWfmOptions {
  /** The folder of ApplicationDeployment YAMLs (and packages/). */
  dir: string;
  log: Logger;
  /** Default DIR/.dev-wfm/state.json. */
  stateFile?: string;
  /** Refuse unsigned requests (401). Default false. */
  requireSignatures?: boolean;
  /** "manual": onboarding answers 403 until the client is approved. Default "auto". */
  approve?: "auto" | "manual";
  faults?: FaultSpec;
  /** Served at GET /api/v1/onboarding/certificate; 404 when absent. */
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
