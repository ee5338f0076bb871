/**
 * Profile rc3: Margo 1.0.0-rc.3 (docs/protocol.md §9). No clientId in any
 * route: the WFM knows the caller from the SPIFFE ID of its mutual-TLS
 * certificate. Bodies have no apiVersion/kind; status names the device;
 * capabilities carry `cpus` and the operator's labels and are only PUT
 * (201 created, 200 updated); DELETE of the same route decommissions.
 */
import { rc3Capabilities } from "../../capabilities-body.ts";
import type { WfmProblem } from "../../problem.ts";
import { deviceIdPath, segment } from "../segments.ts";
import type { ProfileRoutes, WfmProfile } from "../types.ts";

const ROUTES: ProfileRoutes = {
  manifest: "/api/v1/deployments",
  deployment: (id, digest) => `/api/v1/deployments/${segment(id)}/${segment(digest)}`,
  bundle: (digest) => `/api/v1/bundles/${segment(digest)}`,
  status: (id) => `/api/v1/deployments/${segment(id)}/status`,
  capabilities: (deviceId) => `/api/v1/capabilities/${deviceIdPath(deviceId)}`,
};

export const rc3Profile: WfmProfile = {
  name: "rc3",
  routes: () => ROUTES,
  statusFormat: (deviceId) => ({ envelope: false, deviceId }),
  capabilitiesBody: rc3Capabilities,
  capabilitiesMethods: ["PUT"],
  identityRefusal(problem: WfmProblem): string {
    // The TLS handshake already proved the SVID; a 403 is the WFM's policy about this client.
    if (problem.kind === "not-authorized" || problem.status === 403) {
      return `the WFM's policy does not authorize this client (${problem.summary}); the client relationship may have been retired: ask the WFM's operator`;
    }
    return `the WFM refused this client's identity (${problem.summary})`;
  },
};
