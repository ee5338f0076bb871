/**
 * The resolver the reconciler uses: fetch, verify and unpack a component's
 * package into the data directory, and attach its parameters and the device's
 * compose policy. A component names its package either as an OCI artifact
 * (`repository` + `revision`, src/oci: pulled from the registry or a mirror,
 * verified, cached) or as a download URL (`packageLocation`, the older rc.2
 * form, src/packages). The policy is judged by the runtime adapter, on the
 * model the compose tool renders: only it knows what compose will really run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedComponent } from "../../runtimes/types.ts";
import type { Config } from "../config/schema.ts";
import { loadWfmTls } from "../config/wfm-tls.ts";
import { AgentError } from "../errors/index.ts";
import { checkFreeSpace, resolvePackage } from "../packages/index.ts";
import type { Platform } from "../platform/types.ts";
import type { ComponentResolver } from "../reconcile/component-resolver.ts";
import type { PullProgress } from "../agent/pull-progress.ts";
import type { Logger } from "../log.ts";
import type { DeploymentComponent } from "../model/deployment.ts";
import { fetchComposeComponent, loadRegistryAccess, OciPuller } from "../oci/index.ts";

/** Where engines keep images and containers: pulling into a full one is how devices die. */
export const ENGINE_STORAGE = ["/var/lib/containers/storage", "/var/lib/docker"];

export interface ResolverDeps {
  log?: Logger;
  /** Where pulls under way are shown (the Agent's read model). */
  pulls?: PullProgress;
  engineStorage?: readonly string[];
}

export function packageResolver(config: Config, platform: Platform, deps: ResolverDeps = {}): ComponentResolver {
  const tls = loadWfmTls(config.wfm.caFile); // read once per process (src/config/wfm-tls.ts), shared with the Agent
  const engineStorage = deps.engineStorage ?? ENGINE_STORAGE;
  // One puller for the agent's life (it holds the registry token cache); its auth and CA files are read on first use.
  let puller: Promise<OciPuller> | undefined;
  const ociPuller = () =>
    (puller ??= loadRegistryAccess(config.registries, config.packages.allowInsecureHttp).then(
      (access) =>
        new OciPuller({
          fetch: (url, init, tlsFor) => platform.fetch(url, init, tlsFor),
          access,
          cacheDir: join(config.dataDir, "oci"),
          reserveBytes: config.packages.reserve,
          limits: { maxBlobBytes: config.packages.maxBytes },
          log: deps.log,
        }),
      (err) => {
        puller = undefined; // a fixed auth file is read at the next try
        throw err;
      },
    ));
  return async (deployment, component, signal): Promise<ResolvedComponent> => {
    let pkg: { composeFile: string; packageDigest: string };
    if (component.repository) {
      const { repository, revision } = component;
      try {
        pkg = await fetchComposeComponent(await ociPuller(), { deploymentId: deployment.id, componentName: component.name, repository, revision }, {
          signal,
          deploymentId: deployment.id,
          onProgress: (p) => deps.pulls?.update(deployment.id, component.name, p.reference, p.bytes, p.total),
          extractLimits: { maxEntries: config.packages.maxEntries, maxEntryBytes: config.packages.maxExpandedBytes, maxTotalBytes: Math.max(config.packages.maxExpandedBytes, config.packages.maxBytes) },
        });
      } finally {
        deps.pulls?.done(deployment.id, component.name);
      }
    } else if (component.packageLocation) {
      pkg = await urlPackage(deployment.id, component, signal);
    } else {
      throw new AgentError("PACKAGE_INVALID", `component ${component.name} names no package: it needs repository (+ revision) or packageLocation`);
    }
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

  /** The rc.2 form: a compose file or tar.gz at a URL (redirects checked hop by hop). */
  function urlPackage(deploymentId: string, component: DeploymentComponent, signal: AbortSignal) {
    return resolvePackage(
      {
        deploymentId,
        componentName: component.name,
        packageLocation: component.packageLocation!,
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
  }
}
