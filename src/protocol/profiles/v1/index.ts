/**
 * Profile v1: Margo 1.0.0-rc.2 (docs/protocol.md §1–§6). Routes carry the
 * clientId onboarding gave; status and capabilities bodies carry their
 * apiVersion/kind envelope; requests are signed (RFC 9421) by the session.
 */
import { v1Capabilities } from "../../capabilities-body.ts";
import type { WfmProblem } from "../../problem.ts";
import { V1_STATUS_FORMAT } from "../../status-manifest.ts";
import { deviceIdPath, segment } from "../segments.ts";
import type { ProfileRoutes, WfmProfile } from "../types.ts";

function routes(clientId: string): ProfileRoutes {
  const client = `/api/v1/clients/${segment(clientId)}`;
  return {
    manifest: `${client}/deployments`,
    deployment: (id, digest) => `${client}/deployments/${segment(id)}/${segment(digest)}`,
    bundle: (digest) => `${client}/bundles/${segment(digest)}`,
    status: (id) => `${client}/deployments/${segment(id)}/status`,
    // The rc.2 form; src/capabilities/report.ts also tries the older one without the device id.
    capabilities: (deviceId) => `${client}/capabilities/${deviceIdPath(deviceId)}`,
  };
}

export const v1Profile: WfmProfile = {
  name: "v1",
  routes: (clientId) => (clientId ? routes(clientId) : undefined),
  statusFormat: () => V1_STATUS_FORMAT,
  capabilitiesBody: v1Capabilities,
  capabilitiesMethods: ["POST", "PUT"],
  identityRefusal(problem: WfmProblem): string {
    if (problem.status === 401) return `the WFM did not accept the request signature (${problem.summary}); check onboarding and the device certificate, and the device clock`;
    return `the WFM does not trust this device's certificate or has not approved it (${problem.summary}); check onboarding and the device certificate`;
  },
};
