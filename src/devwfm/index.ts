export { createDevWfm, type DevWfm } from "./server.ts";
export { parseListen, startDevWfm, type StartedDevWfm } from "./start.ts";
export type { DevWfmOptions } from "./options.ts";
export { parseFaultFlags, parseFaultMode, mergeFaultJson, describeFaults, FaultSyntaxError } from "./faults.ts";
export { WFM_URL_TOKEN } from "./folder.ts";
export type { DevCapabilities, DevClient, DevReport, FaultMode, FaultSpec } from "./types.ts";
