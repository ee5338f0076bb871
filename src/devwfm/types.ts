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
  /** v1: the clientId in the path. rc3: the client's SPIFFE ID, from its certificate. */
  clientId: string;
  deploymentId: string;
  /** ISO 8601. */
  receivedAt: string;
  /** The DeploymentStatusManifest exactly as received, parsed. */
  body: unknown;
}

export interface DevCapabilities {
  /** v1: the clientId in the path. rc3: the client's SPIFFE ID. */
  clientId: string;
  /** The `/{deviceId}` path suffix (rc.2: when the client used it; rc3: always, may hold '/'). */
  deviceId: string | null;
  /** DELETE (rc3) records a decommissioning; its body is null. */
  method: "POST" | "PUT" | "DELETE";
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

/** An rc3 client this WFM has accepted a connection from (by SPIFFE ID). */
export interface SeenClient {
  spiffeId: string;
  firstSeen: string;
  lastSeen: string;
  /** notAfter of the certificate last presented (ISO 8601). */
  notAfter: string;
  tlsVersion: string | null;
  requests: number;
}

/** An rc3 connection refused for lack of a verified client SVID of this WFM. */
export interface RefusedConnection {
  at: string;
  address: string | null;
  spiffeId: string | null;
  reason: string;
  /** Consecutive refusals with the same address, SPIFFE ID and reason. */
  count: number;
}
