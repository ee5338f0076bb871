/**
 * Reading the WFM's compose file just enough to label what it creates, and
 * writing the small override file that carries those labels. The WFM's file is
 * never modified: compose merges `-f theirs -f ours`.
 */
import { parse, stringify } from "yaml";
import { AgentError } from "../../src/errors/index.ts";
import { LABEL } from "./naming.ts";

export interface ComposeOutline {
  /** The file's `version` key, repeated in the override so compose v1 accepts the merge. */
  version?: string;
  services: string[];
  /** Services `up` starts by default: without `profiles`, and not scaled to zero. */
  startedServices: string[];
  /** Networks the file declares and compose creates (not external). */
  networks: string[];
  /** Named volumes the file declares and compose creates (not external). */
  volumes: string[];
  /** True when at least one service has no `networks` key and so joins "default". */
  usesDefaultNetwork: boolean;
  /** Services without a restart policy (absent or "no"): one-shot jobs, done when they exit 0. */
  jobs: string[];
}

/** Parses compose YAML text; throws COMPOSE_INVALID naming `where` on anything malformed. */
export function outlineCompose(text: string, where: string): ComposeOutline {
  let doc: unknown;
  try {
    doc = parse(text, { merge: true });
  } catch (err) {
    throw new AgentError("COMPOSE_INVALID", `compose file ${where} is not valid YAML: ${(err as Error).message.split("\n")[0]}`, { where });
  }
  return outlineModel(doc, isRecord(doc) && doc.version !== undefined ? String(doc.version) : undefined, where);
}

/**
 * The outline of a compose model: a parsed file, or the model the compose tool
 * rendered (v1 YAML or v2 JSON). `version` is the package file's own, which the
 * override must repeat (a rendered v1 model always says 3.9).
 */
export function outlineModel(doc: unknown, version: string | undefined, where: string): ComposeOutline {
  if (!isRecord(doc)) throw new AgentError("COMPOSE_INVALID", `compose file ${where} is not a YAML mapping`, { where });
  const services = doc.services;
  if (!isRecord(services) || Object.keys(services).length === 0) {
    throw new AgentError("COMPOSE_INVALID", `compose file ${where} has no "services" mapping`, { where });
  }
  let usesDefaultNetwork = false;
  const startedServices: string[] = [];
  const jobs: string[] = [];
  for (const [name, svc] of Object.entries(services)) {
    if (!isRecord(svc)) throw new AgentError("COMPOSE_INVALID", `compose file ${where}: service "${name}" is not a mapping`, { where });
    const replicas = isRecord(svc.deploy) ? svc.deploy.replicas : undefined;
    const profiles = Array.isArray(svc.profiles) ? svc.profiles : svc.profiles == null ? [] : [svc.profiles];
    if (profiles.length === 0 && replicas !== 0 && svc.scale !== 0) startedServices.push(name);
    if (svc.network_mode == null && svc.networks == null) usesDefaultNetwork = true;
    const restart = isRecord(svc.deploy) && isRecord(svc.deploy.restart_policy) ? svc.deploy.restart_policy.condition : svc.restart;
    if (restart == null || restart === "no" || restart === false || restart === "none") jobs.push(name);
  }
  return {
    version,
    services: Object.keys(services),
    startedServices,
    networks: ownedKeys(doc.networks),
    volumes: ownedKeys(doc.volumes),
    usesDefaultNetwork,
    jobs,
  };
}

/**
 * The override compose file (YAML text) that adds `labels` to every service and,
 * where the file format allows labels on them, to networks and volumes.
 */
export function overrideYaml(outline: ComposeOutline, labels: Record<string, string>): string {
  const doc: Record<string, unknown> = {};
  if (outline.version !== undefined) doc.version = outline.version;
  const jobs = new Set(outline.jobs ?? []);
  doc.services = Object.fromEntries(outline.services.map((s) => [s, { labels: jobs.has(s) ? { ...labels, [LABEL.job]: "true" } : labels }]));
  if (formatAllowsResourceLabels(outline.version)) {
    const networks = [...outline.networks];
    if (outline.usesDefaultNetwork && !networks.includes("default")) networks.push("default");
    if (networks.length) doc.networks = Object.fromEntries(networks.map((n) => [n, { labels }]));
    if (outline.volumes.length) doc.volumes = Object.fromEntries(outline.volumes.map((v) => [v, { labels }]));
  }
  return stringify(doc);
}

/** Network/volume labels exist in file formats 2.1+ and 3.3+ and in the versionless Compose Specification. */
function formatAllowsResourceLabels(version: string | undefined): boolean {
  if (version === undefined) return true;
  const [major = 0, minor = 0] = version.split(".").map((n) => Number.parseInt(n, 10));
  if (major === 2) return minor >= 1;
  if (major === 3) return minor >= 3;
  return false;
}

function ownedKeys(section: unknown): string[] {
  if (!isRecord(section)) return [];
  return Object.entries(section)
    .filter(([, v]) => !(isRecord(v) && v.external !== undefined && v.external !== false))
    .map(([k]) => k);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
