/**
 * The resolver the reconciler uses: fetch, verify and unpack a component's
 * package into the data directory (src/packages), and attach its parameters
 * and the device's compose policy. The policy is judged by the runtime
 * adapter, on the model the compose tool renders (runtimes/shared/compose-render.ts):
 * only it knows what compose will really run.
 */
import { existsSync, readFileSync } from "node:fs";
import type { ResolvedComponent } from "../../runtimes/types.ts";
import type { Config } from "../config/schema.ts";
import { loadWfmTls } from "../config/wfm-tls.ts";
import { AgentError } from "../errors/index.ts";
import { checkFreeSpace, resolvePackage } from "../packages/index.ts";
import type { Platform } from "../platform/types.ts";
import type { ComponentResolver } from "../reconcile/component-resolver.ts";

/** Where engines keep images and containers: pulling into a full one is how devices die. */
export const ENGINE_STORAGE = ["/var/lib/containers/storage", "/var/lib/docker"];

export function packageResolver(config: Config, platform: Platform, engineStorage: readonly string[] = ENGINE_STORAGE): ComponentResolver {
  const tls = loadWfmTls(config.wfm.caFile); // read once per process (src/config/wfm-tls.ts), shared with the Agent
  return async (deployment, component, signal): Promise<ResolvedComponent> => {
    if (!component.packageLocation) {
      throw new AgentError("PACKAGE_INVALID", `component ${component.name} has no packageLocation`);
    }
    const pkg = await resolvePackage(
      {
        deploymentId: deployment.id,
        componentName: component.name,
        packageLocation: component.packageLocation,
        keyLocation: component.keyLocation,
        expectedDigest: component.packageDigest,
      },
      {
        dataDir: config.dataDir,
        fetch: (url, init) => platform.fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(config.wfm.requestTimeout * 4)]) }, tls),
        limits: {
          maxPackageBytes: config.packages.maxBytes,
          maxExpandedBytes: Math.max(config.packages.maxExpandedBytes, config.packages.maxBytes),
          maxRatio: config.packages.maxRatio,
          maxEntries: config.packages.maxEntries,
        },
        allowInsecureHttp: config.packages.allowInsecureHttp,
        minFreeBytes: config.packages.reserve,
      },
    );
    const env = deployment.env[component.name] ?? {};
    for (const dir of engineStorage) if (existsSync(dir)) await checkFreeSpace(dir, config.packages.reserve);
    return {
      name: component.name,
      composeFile: pkg.composeFile,
      packageDigest: pkg.packageDigest,
      env,
      policy: config.policy,
      wait: component.wait,
      timeoutMs: component.timeoutMs,
    };
  };
}
