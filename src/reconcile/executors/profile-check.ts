/**
 * Why a deployment cannot run here. A compose deployment on a device whose
 * engine is missing or down is an engine problem (ENGINE_NOT_FOUND /
 * ENGINE_UNREACHABLE) a field engineer can fix; a profile no adapter here runs
 * at all (helm.v3 without Kubernetes) is PROFILE_UNSUPPORTED.
 */
import type { RuntimeAdapter } from "../../../runtimes/types.ts";
import type { Deployment } from "../../model/deployment.ts";
import type { StatusError } from "../../model/states.ts";

/** undefined when the runtime can run the deployment's profile now. */
export async function whyUnsupported(runtime: RuntimeAdapter, dep: Deployment): Promise<StatusError | undefined> {
  const supported = await runtime.supportedProfiles();
  if (supported.includes(dep.profileType)) return undefined;
  if (dep.profileType === "compose") {
    const info = await runtime.engineInfo();
    if (!info.reachable) {
      const code = info.code ?? "ENGINE_UNREACHABLE";
      const what = code === "ENGINE_NOT_FOUND" ? "no container engine with a compose tool is installed" : "the container engine does not answer";
      return { code, source: dep.name, message: `deployment profile compose cannot run now: ${what} (runtime ${runtime.name}${info.detail ? `: ${info.detail}` : ""})` };
    }
  }
  return {
    code: "PROFILE_UNSUPPORTED",
    source: dep.name,
    message: `deployment profile ${dep.profileType} cannot run on this device: runtime ${runtime.name} supports ${supported.length ? supported.join(", ") : "nothing right now"}`,
  };
}
