/**
 * The resolver the reconciler uses: fetch, verify and unpack a component's
 * package into the data directory (src/packages), and attach its parameters.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedComponent } from "../../runtimes/types.ts";
import type { Config } from "../config/schema.ts";
import { loadWfmTls } from "../config/wfm-tls.ts";
import { AgentError } from "../errors/index.ts";
import { checkComposePolicy, parseDotEnv } from "../packages/compose-policy.ts";
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
        limits: { maxPackageBytes: config.packages.maxBytes },
        allowInsecureHttp: config.packages.allowInsecureHttp,
        minFreeBytes: config.packages.reserve,
      },
    );
    const env = deployment.env[component.name] ?? {};
    // Compose reads the package's .env too; parameters (the process environment) win over it.
    const dotEnvFile = join(dirname(pkg.composeFile), ".env");
    const dotEnv = existsSync(dotEnvFile) ? parseDotEnv(readFileSync(dotEnvFile, "utf8")) : {};
    checkComposePolicy(readFileSync(pkg.composeFile, "utf8"), { ...dotEnv, ...env }, config.policy, dirname(pkg.composeFile), `component ${component.name}`);
    for (const dir of engineStorage) if (existsSync(dir)) await checkFreeSpace(dir, config.packages.reserve);
    return {
      name: component.name,
      composeFile: pkg.composeFile,
      packageDigest: pkg.packageDigest,
      env,
      wait: component.wait,
      timeoutMs: component.timeoutMs,
    };
  };
}
