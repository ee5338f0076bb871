/** Shapes the development WFM exposes to its callers (tests, the CLI, the page). */

/** What one route does instead of its normal work. */
export type FaultMode = "ok" | "down" | { code: number; retryAfter?: number };

/** Fault switches, per route family. Absent = "ok". */
export interface FaultSpec {
  /** POST …/deployments/{id}/status */
  status?: FaultMode;
  /** GET …/deployments (the state manifest) */
  manifest?: FaultMode;
}

export const FAULT_ROUTES = ["status", "manifest"] as const;
export type FaultRoute = (typeof FAULT_ROUTES)[number];

/** One accepted deployment status report, in arrival order. */
export interface DevReport {
  /** Position in arrival order since start (or the last clear); stable for `?since=`. */
  index: number;
  clientId: string;
  deploymentId: string;
  /** ISO 8601. */
  receivedAt: string;
  /** The DeploymentStatusManifest exactly as received, parsed. */
  body: unknown;
}

export interface DevCapabilities {
  clientId: string;
  /** The rc.2 `/{deviceId}` path suffix, when the client used it. */
  deviceId: string | null;
  method: "POST" | "PUT";
  receivedAt: string;
  body: unknown;
}

export interface DevClient {
  clientId: string;
  /** Base64 DER of the client's certificate; null for clients that never onboarded. */
  certificate: string | null;
  /** Lower-case hex SHA-256 of the certificate DER (the keyid before onboarding). */
  thumbprint: string | null;
  approved: boolean;
  onboardedAt: string;
}
