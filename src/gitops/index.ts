/**
 * The GitOps source as the composition root builds it: settings from the
 * configuration and the device id, git's files written in dataDir/gitops (the
 * credentials among them, 0600), then a factory the Agent calls with its store
 * and reconciler.
 */
import type { Config } from "../config/schema.ts";
import type { Platform } from "../platform/types.ts";
import type { SourceFactory } from "../sync/source.ts";
import { GitCli } from "./git-cli.ts";
import { prepareGitHome } from "./git-home.ts";
import { GitSource } from "./git-source.ts";
import { gitSettings } from "./settings.ts";

export { GitSource } from "./git-source.ts";
export { commitVersion, versionAbbrev } from "./version.ts";

export interface GitSourceFactoryOptions {
  random?: () => number;
  /** Monotonic milliseconds (tests: a clock they move). */
  now?: () => number;
}

export async function gitSourceFactory(config: Config, platform: Pick<Platform, "run">, deviceId: string, opts: GitSourceFactoryOptions = {}): Promise<SourceFactory> {
  const settings = gitSettings(config, deviceId);
  const home = await prepareGitHome(settings, platform);
  const cli = new GitCli(platform, home.env);
  return ({ store, reconciler, log }) => new GitSource({ settings, cli, store, reconciler, log: log.child({ part: "gitops" }), random: opts.random, now: opts.now });
}
