/**
 * The GitOps source's settings, resolved once at start from the configuration
 * and the device id: the repository, the ref, this device's folder, the limits,
 * and where in the data directory git keeps its files (docs/protocol.md,
 * "GitOps source").
 */
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { gitTransport } from "../config/git-rules.ts";
import { AgentError } from "../errors/index.ts";

export interface GitSettings {
  url: string;
  transport: "https" | "http" | "ssh";
  /** As configured: a branch or tag name, or a full refs/… name. */
  ref: string;
  /** This device's folder, {deviceId} replaced. */
  path: string;
  tokenFile: string | null;
  sshKeyFile: string | null;
  knownHostsFile: string | null;
  caFile: string | null;
  allowRewrite: boolean;
  verify: { mode: "none" | "gpg" | "ssh"; keysFile: string | null };
  limits: {
    fetchBytes: number;
    files: number;
    timeoutMs: number;
    historyDepth: number;
    /** One file: limits.deploymentBytes, as one YAML from the WFM. */
    fileBytes: number;
    /** All files of the folder together: limits.bundleExpandedBytes, as a bundle from the WFM. */
    totalBytes: number;
    /** The tip check (ls-remote) is one request: wfm.requestTimeout bounds it, as a WFM request. */
    requestTimeoutMs: number;
  };
  /** dataDir/gitops: the config file, git's HOME, the GnuPG home, the fetch repository. */
  dir: string;
}

/** The folder of this device: {deviceId} replaced, and still one relative path without `.` or `..`. */
export function devicePath(template: string, deviceId: string): string {
  const path = template.replaceAll("{deviceId}", deviceId);
  const segments = path.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new AgentError("CONFIG_INVALID", `git.path: ${JSON.stringify(template)} with device id ${JSON.stringify(deviceId)} gives ${JSON.stringify(path)}, which is not a relative path inside the repository`);
  }
  return path;
}

export function gitSettings(config: Config, deviceId: string): GitSettings {
  const g = config.git;
  if (g.url === null) throw new AgentError("CONFIG_INVALID", "git.url: is required with desiredState.source: git");
  return {
    url: g.url,
    transport: gitTransport(g.url),
    ref: g.ref,
    path: devicePath(g.path, deviceId),
    tokenFile: g.tokenFile,
    sshKeyFile: g.sshKeyFile,
    knownHostsFile: g.knownHostsFile,
    caFile: g.caFile,
    allowRewrite: g.allowRewrite,
    verify: g.verify,
    limits: { fetchBytes: g.limits.fetchBytes, files: g.limits.files, timeoutMs: g.limits.timeout, historyDepth: g.limits.historyDepth,
      fileBytes: config.limits.deploymentBytes,
      totalBytes: config.limits.bundleExpandedBytes,
      requestTimeoutMs: config.wfm.requestTimeout,
    },
    dir: join(config.dataDir, "gitops"),
  };
}

/**
 * Which history a stored commit belongs to. A commit of another repository or
 * ref is no ancestor to check against: after the operator points the device
 * elsewhere, the first tip there is taken as a new start (and logged).
 */
export function sourceFingerprint(s: Pick<GitSettings, "url" | "ref">): string {
  return `${s.url} ${s.ref}`;
}
