/**
 * The device's folder at one commit, as git lists it, turned into files the
 * agent will read and files it refuses before reading (pure: parsing and rules
 * only; git-repo.ts runs git).
 *
 * The layout rule (docs/protocol.md, "GitOps source"): every `<id>.yaml` or
 * `<id>.yml` directly in the folder is the ApplicationDeployment with
 * deployment id `<id>`; its metadata.annotations.id must say the same
 * (DEPLOYMENT_ID_MISMATCH otherwise, as for a manifest's deploymentId). The file
 * name is the id so that a file that fails validation fails exactly that
 * deployment, and its running version stays as it is, instead of a typo making
 * the deployment vanish (and be removed). Subfolders, other files and submodules
 * are not read.
 */
import { AgentError } from "../errors/index.ts";
import { isSafeDeploymentId } from "../protocol/deployment-id.ts";

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Bytes; undefined for trees and submodules. */
  size: number | undefined;
  name: string;
}

/** `git ls-tree -l -z` output: "<mode> SP <type> SP <oid> SP+ <size|-> TAB <name> NUL" per entry. */
export function parseLsTree(output: string): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const record of output.split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    const m = /^(\d{6}) (\w+) ([0-9a-f]{40}|[0-9a-f]{64}) +(\d+|-)$/.exec(record.slice(0, tab));
    if (tab < 0 || !m) throw new AgentError("GIT_FAILED", `git ls-tree printed an entry it should not: ${JSON.stringify(record.slice(0, 120))}`);
    entries.push({ mode: m[1]!, type: m[2]!, oid: m[3]!, size: m[4] === "-" ? undefined : Number(m[4]), name: record.slice(tab + 1) });
  }
  return entries;
}

/** A file of the folder the agent reads (its blob), or refuses unread (why), for one deployment id. */
export type FolderFile =
  | { id: string; name: string; oid: string; size: number; read: true }
  | { id: string; name: string; oid: string; read: false; error: AgentError };

export interface FolderPlan {
  files: FolderFile[];
  /** *.yaml files that cannot be a deployment (their name is not a deployment id): logged, not read. */
  skipped: { name: string; reason: string }[];
}

const YAML_FILE = /^(.*)\.ya?ml$/;

export function planFolder(entries: readonly TreeEntry[], fileBytes: number, path: string): FolderPlan {
  const skipped: FolderPlan["skipped"] = [];
  const byId = new Map<string, TreeEntry[]>();
  for (const e of entries) {
    const m = YAML_FILE.exec(e.name);
    if (!m || e.type !== "blob") continue;
    const id = m[1]!;
    if (!isSafeDeploymentId(id)) {
      skipped.push({ name: e.name, reason: "its name is not a deployment id (1-200 letters, digits, '.', '_' or '-', starting with a letter or digit)" });
      continue;
    }
    byId.set(id, [...(byId.get(id) ?? []), e]);
  }
  const files: FolderFile[] = [];
  for (const [id, list] of [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const e = list[0]!;
    const where = `${path}/${e.name}`;
    if (list.length > 1) {
      files.push({ id, name: e.name, oid: list.map((x) => x.oid).join("+"), read: false, error: new AgentError("DEPLOYMENT_INVALID", `deployment ${id}: defined twice, by ${list.map((x) => `${path}/${x.name}`).join(" and ")}; keep one`) });
    } else if (e.mode === "120000") {
      files.push({ id, name: e.name, oid: e.oid, read: false, error: new AgentError("DEPLOYMENT_INVALID", `deployment ${id}: ${where} is a symbolic link; links are not followed, put the file itself in the folder`) });
    } else if (e.mode !== "100644" && e.mode !== "100755") {
      files.push({ id, name: e.name, oid: e.oid, read: false, error: new AgentError("DEPLOYMENT_INVALID", `deployment ${id}: ${where} has git mode ${e.mode}, not a regular file`) });
    } else if (e.size === undefined || e.size > fileBytes) {
      files.push({ id, name: e.name, oid: e.oid, read: false, error: new AgentError("DEPLOYMENT_INVALID", `deployment ${id}: ${where} is ${e.size ?? "?"} bytes, over limits.deploymentBytes (${fileBytes}); not read`) });
    } else {
      files.push({ id, name: e.name, oid: e.oid, size: e.size, read: true });
    }
  }
  return { files, skipped };
}

/**
 * `git cat-file --batch` output for blobs asked in order: "<oid> blob <size>\n",
 * then exactly size bytes, then "\n", per blob. The bytes are the blob's own:
 * digests are computed over them.
 */
export function parseCatFileBatch(out: Uint8Array, asked: readonly { oid: string; size: number }[]): Map<string, Uint8Array> {
  const blobs = new Map<string, Uint8Array>();
  let at = 0;
  for (const want of asked) {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) throw new AgentError("GIT_FAILED", `git cat-file ended before blob ${want.oid}`);
    const header = new TextDecoder().decode(out.subarray(at, nl));
    const m = /^([0-9a-f]{40}|[0-9a-f]{64}) blob (\d+)$/.exec(header);
    if (!m || m[1] !== want.oid || Number(m[2]) !== want.size) throw new AgentError("GIT_FAILED", `git cat-file answered ${JSON.stringify(header.slice(0, 120))} for blob ${want.oid} of ${want.size} bytes`);
    const start = nl + 1;
    const end = start + want.size;
    if (end + 1 > out.length || out[end] !== 0x0a) throw new AgentError("GIT_FAILED", `git cat-file cut blob ${want.oid} short`);
    blobs.set(want.oid, out.slice(start, end));
    at = end + 1;
  }
  return blobs;
}
