/**
 * The null runtime (after Eclipse Ankaios' "unsupported" connector): used when
 * no engine is found. It runs nothing, says so, and every deployment fails with
 * a clear code instead of crashing the agent.
 */
import { AgentError } from "../../src/errors/index.ts";
import type { RuntimeAdapter } from "../types.ts";

export function createUnsupportedRuntime(reason: string): RuntimeAdapter {
  const fail = () => Promise.reject(new AgentError("ENGINE_NOT_FOUND", `no container runtime available: ${reason}`));
  return {
    name: "unsupported",
    supportedProfiles: async () => [],
    engineInfo: async () => ({ runtime: "unsupported", reachable: false, detail: reason, code: "ENGINE_NOT_FOUND" as const }),
    applyComponent: fail,
    removeComponent: async () => {},
    inspect: async () => [],
  };
}
