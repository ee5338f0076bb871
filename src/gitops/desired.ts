/**
 * The desired set of one commit: each deployment file of the device's folder,
 * its digest computed by the agent over the blob's bytes, parsed and checked
 * exactly as a YAML from the WFM (src/sync/verify-desired.ts,
 * src/deployment/parse.ts). A file that fails fails its deployment only.
 *
 * A file refused before reading (too large, a link, defined twice) still needs
 * a record the store can re-verify: it is stood in for by a one-line YAML comment
 * naming the code and reason, whose digest is its own. The retry path reads the
 * same reason back from it (fromStoreGit), so a retried refusal reports the same
 * error, not a parse error of the comment.
 */
import { AgentError } from "../errors/index.ts";
import type { ErrorCode } from "../errors/codes.ts";
import { ERROR_CODES } from "../errors/codes.ts";
import type { AppliedDeployment } from "../model/applied.ts";
import type { DesiredDeployment } from "../model/desired.ts";
import { sha256Digest } from "../protocol/digest.ts";
import { fromStore, parseVerified } from "../sync/verify-desired.ts";
import type { FolderFile } from "./folder.ts";

const STAND_IN = /^# margo-agent: not read: ([A-Z_]+): (.*)\n$/;

/** The stand-in text for a refused file: deterministic per blob, so an unchanged refusal plans nothing new. */
export function standIn(file: Extract<FolderFile, { read: false }>): string {
  return `# margo-agent: not read: ${file.error.code}: ${file.error.message.replace(/[\r\n]+/g, " ")} (blob ${file.oid})\n`;
}

function refusalOf(yaml: string): AgentError | undefined {
  const m = STAND_IN.exec(yaml);
  if (!m || !(m[1]! in ERROR_CODES)) return undefined;
  return new AgentError(m[1] as ErrorCode, m[2]!.replace(/ \(blob [0-9a-f+]+\)$/, ""));
}

export function desiredFromFolder(files: readonly FolderFile[], blobs: ReadonlyMap<string, Uint8Array>, path: string): Map<string, DesiredDeployment> {
  const byId = new Map<string, DesiredDeployment>();
  for (const f of files) {
    if (!f.read) {
      const yaml = standIn(f);
      byId.set(f.id, { digest: sha256Digest(yaml), yaml, parsed: f.error });
      continue;
    }
    const bytes = blobs.get(f.oid);
    if (!bytes) throw new AgentError("GIT_FAILED", `blob ${f.oid} of ${path}/${f.name} was not read`);
    const digest = sha256Digest(bytes);
    let yaml: string;
    try {
      yaml = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      const text = `# margo-agent: not read: DEPLOYMENT_INVALID: deployment ${f.id}: ${path}/${f.name} is not UTF-8 text (blob ${f.oid})\n`;
      byId.set(f.id, { digest: sha256Digest(text), yaml: text, parsed: new AgentError("DEPLOYMENT_INVALID", `deployment ${f.id}: ${path}/${f.name} is not UTF-8 text`) });
      continue;
    }
    byId.set(f.id, parseVerified(f.id, digest, yaml));
  }
  return byId;
}

/** A stored deployment as the GitOps source re-applies it: a stand-in gives back its refusal. */
export function fromStoreGit(row: AppliedDeployment): DesiredDeployment {
  const desired = fromStore(row);
  if (desired.parsed instanceof AgentError && desired.parsed.code !== "STORE_TAMPERED") {
    const refusal = refusalOf(row.yaml);
    if (refusal) return { ...desired, parsed: refusal };
  }
  return desired;
}
