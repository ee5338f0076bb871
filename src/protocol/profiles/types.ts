/**
 * The seam between the agent and a Margo profile (docs/protocol.md,
 * "Profiles"). A profile decides the routes, the frame of the bodies the
 * agent sends (status, capabilities) and how a refusal of the device's
 * identity is explained; how requests are authenticated is the session's
 * (src/bootstrap/). Polling, verifying, planning, reconciling, the journal
 * and the local API are the same for every profile and never see this.
 *
 * One profile per folder: v1/ (1.0.0-rc.2) and rc3/ (1.0.0-rc.3).
 */
import type { DeviceDescription } from "../capabilities-body.ts";
import type { WfmProblem } from "../problem.ts";
import type { StatusFormat } from "../status-manifest.ts";

export type ProfileName = "v1" | "rc3";

/** Paths under the WFM base URL (src/protocol/urls.ts routeUrl puts them under its prefix). */
export interface ProfileRoutes {
  /** GET: the state manifest. */
  manifest: string;
  /** GET: one ApplicationDeployment YAML (what a manifest's deployments[].url names). */
  deployment(deploymentId: string, digest: string): string;
  /** GET: the bundle (what a manifest's bundle.url names). */
  bundle(digest: string): string;
  /** POST: a deployment's status report. */
  status(deploymentId: string): string;
  /** The capabilities of a device; a child device id "parent/child" keeps its slash. */
  capabilities(deviceId: string): string;
}

export interface WfmProfile {
  readonly name: ProfileName;
  /**
   * The routes for this client, or undefined while they cannot be formed
   * (v1 before onboarding: its routes carry the clientId; rc3 needs none).
   */
  routes(clientId: string | undefined): ProfileRoutes | undefined;
  /** How status bodies are framed (passed to buildStatusManifest). */
  statusFormat(deviceId: string): StatusFormat;
  /** The capabilities body this profile sends, from the profile-free description. */
  capabilitiesBody(device: DeviceDescription): object;
  /** Which methods report capabilities: v1 POSTs first and PUTs changes; rc3 only PUTs. */
  readonly capabilitiesMethods: readonly ("POST" | "PUT")[];
  /** The message for a refusal of the device's identity (401/403/not-authorized): what the operator should check. */
  identityRefusal(problem: WfmProblem): string;
}
