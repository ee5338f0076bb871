/**
 * How the CLI reaches the running agent: api.listen and api.token from the
 * same configuration the agent reads.
 */
import type { Config } from "../config/schema.ts";
import { type ApiClient, apiClient } from "./client.ts";
import { parseListen } from "./listen.ts";

/** Undefined when the API is disabled (api.enabled=false): then only the stored state can be shown. */
export function clientForConfig(config: Config, timeoutMs?: number): ApiClient | undefined {
  if (!config.api.enabled) return undefined;
  return apiClient(parseListen(config.api.listen), config.api.token, timeoutMs);
}
