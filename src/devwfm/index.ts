export { createDevWfm, type DevWfm, type DevWfmRc3 } from "./server.ts";
export { parseListen, startDevWfm, type StartedDevWfm } from "./start.ts";
export { DEV_WFM_PROFILES, type DevWfmOptions, type DevWfmProfile, type Rc3Options } from "./options.ts";
export { parseFaultFlags, parseFaultMode, mergeFaultJson, describeFaults, FaultSyntaxError } from "./faults.ts";
export { WFM_URL_TOKEN } from "./folder.ts";
export { adoptLegacyState, defaultStateDir, resolveStatePaths } from "./state-dir.ts";
export { clientFilesIn, DEFAULT_TRUST_DOMAIN, DEFAULT_WFM_ID, issueClientFiles, loadOrCreateRc3Identity, type IssuedFiles, type Rc3Identity } from "./rc3/identity.ts";
export { BUNDLE_PATH, DISCOVERY_PATH } from "./rc3/trust-routes.ts";
export type { DevCapabilities, DevClient, DevReport, FaultMode, FaultSpec, RefusedConnection, SeenClient } from "./types.ts";
