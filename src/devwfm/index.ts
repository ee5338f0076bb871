export { createDevWfm, parseListen, startDevWfm, type DevWfm, type DevWfmOptions, type StartedDevWfm } from "./server.ts";
export { parseFaultFlags, parseFaultMode, mergeFaultJson, describeFaults, FaultSyntaxError } from "./faults.ts";
export { WFM_URL_TOKEN } from "./folder.ts";
export type { DevCapabilities, DevClient, DevReport, FaultMode, FaultSpec } from "./types.ts";
