/** The container engine the agent would use: reachable, its version and the compose tool's. */
import { chooseRuntime } from "../../bootstrap/choose-runtime.ts";
import type { Config } from "../../config/schema.ts";
import { asAgentError } from "../../errors/index.ts";
import type { Platform } from "../../platform/types.ts";
import { error, type Finding, ok, warning } from "./finding.ts";

export async function engineCheck(config: Config, platform: Platform): Promise<Finding> {
  let runtime;
  try {
    runtime = await chooseRuntime(config, platform);
  } catch (err) {
    const e = asAgentError(err);
    return error("engine", e.message, e.code);
  }
  try {
    const info = await runtime.engineInfo();
    if (runtime.name === "simulated") return warning("engine", "runtime: simulated: no containers are run (for demos and WFM tests, not a device)");
    if (!info.reachable) return error("engine", `runtime ${info.runtime}${config.runtime === "auto" ? " (runtime: auto)" : ""}: ${info.detail ?? "not reachable"}${info.version ? ` (${info.version})` : ""}`, info.code ?? "ENGINE_UNREACHABLE");
    return ok("engine", `runtime ${info.runtime}: ${info.version ?? "version unknown"}`);
  } catch (err) {
    const e = asAgentError(err);
    return error("engine", `runtime ${runtime.name}: ${e.message}`, e.code);
  } finally {
    await runtime.close?.().catch(() => {});
  }
}
