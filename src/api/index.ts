/** The local status API's public surface; `run` imports it lazily, only when api.enabled. */
export { createLocalApi, type LocalApiOptions } from "./app.ts";
export { startLocalApi, type LocalApiHandle, type StartLocalApiOptions } from "./start.ts";
export { agentStatusSource } from "./agent-source.ts";
export type * from "./source.ts";
