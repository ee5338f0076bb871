/**
 * Reading the developer's folder: every top-level *.yaml / *.yml is one
 * ApplicationDeployment. `{{WFM_URL}}` is replaced by the dev WFM's base URL
 * before anything is hashed, and the profile's shape applied (rc3 moves the
 * id to the top level: rc3/deployment-shape.ts), so digests cover the bytes
 * actually served.
 *
 * Synchronous on purpose: a folder of a few YAMLs is read in well under a
 * millisecond, and a scan that cannot interleave with another request cannot
 * see a half-updated state.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { parseDeployment } from "../deployment/parse.ts";
import { sha256Digest } from "../protocol/digest.ts";

export const WFM_URL_TOKEN = "{{WFM_URL}}";
/** host:port of the dev WFM, for `repository: oci://{{WFM_HOST}}/packages/<name>` (its own OCI endpoint). */
export const WFM_HOST_TOKEN = "{{WFM_HOST}}";

/** The manifest schema's rule for deploymentId (it goes into URLs). */
const DEPLOYMENT_ID = /^[A-Za-z0-9._~-]{1,200}$/;

export interface FolderDeployment {
  id: string;
  /** File name relative to the folder. */
  file: string;
  /** The served bytes (after substitution). */
  bytes: Uint8Array;
  digest: string;
  /** Why the agent would refuse this deployment, if it would (served anyway, to test that path). */
  warning: string | null;
  /** metadata.name, for the page; null when absent or not a string. */
  name: string | null;
  /** spec.applicationId (or the v1 annotation), for the page. */
  applicationId: string | null;
}

/** What the served bytes become for one profile (identity for v1). */
export type Shape = (text: string) => string;

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface FolderScan {
  /** Sorted by id. */
  deployments: FolderDeployment[];
  skipped: SkippedFile[];
}

const encoder = new TextEncoder();

interface Labels {
  id: unknown;
  name: string | null;
  applicationId: string | null;
}

function labelsOf(doc: unknown): Labels | undefined {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const metadata = (d.metadata ?? undefined) as Record<string, unknown> | undefined;
  const annotations = (metadata?.annotations ?? undefined) as Record<string, unknown> | undefined;
  const spec = (d.spec ?? undefined) as Record<string, unknown> | undefined;
  const str = (x: unknown) => (typeof x === "string" ? x : null);
  return { id: annotations?.id ?? d.id, name: str(metadata?.name), applicationId: str(spec?.applicationId) ?? str(annotations?.applicationId) };
}

/** Why this text cannot be served as a deployment, or its id. */
function classify(text: string): ({ id: string } & Omit<Labels, "id">) | { reason: string } {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return { reason: "empty file" };
  if (docs.length !== 1) return { reason: `holds ${docs.length} YAML documents; put one ApplicationDeployment per file` };
  const doc = docs[0]!;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    return { reason: `invalid YAML${at}: ${e.message.split("\n")[0]}` };
  }
  const labels = labelsOf(doc.toJS({ maxAliasCount: 100 }));
  const id = labels?.id;
  if (id === undefined) return { reason: "no deployment id: set metadata.annotations.id (or a top-level id)" };
  if (typeof id !== "string" || !DEPLOYMENT_ID.test(id)) {
    return { reason: `deployment id ${JSON.stringify(id)} is not a URL-safe string of 1 to 200 characters [A-Za-z0-9._~-]` };
  }
  return { id, name: labels!.name, applicationId: labels!.applicationId };
}

export function scanFolder(dir: string, baseUrl: string, shape: Shape = (t) => t): FolderScan {
  const deployments: FolderDeployment[] = [];
  const skipped: SkippedFile[] = [];
  const names = readdirSync(dir)
    .filter((name) => !name.startsWith(".") && /\.ya?ml$/i.test(name))
    .sort();
  const byId = new Map<string, FolderDeployment>();
  for (const file of names) {
    const full = path.join(dir, file);
    let text: string;
    try {
      if (!statSync(full).isFile()) continue;
      text = readFileSync(full, "utf8").replaceAll(WFM_URL_TOKEN, baseUrl).replaceAll(WFM_HOST_TOKEN, new URL(baseUrl).host);
    } catch (err) {
      skipped.push({ file, reason: `cannot be read: ${(err as Error).message}` });
      continue;
    }
    const verdict = classify(text);
    if (!("reason" in verdict)) text = shape(text);
    if ("reason" in verdict) {
      skipped.push({ file, reason: verdict.reason });
      continue;
    }
    const previous = byId.get(verdict.id);
    if (previous) {
      skipped.push({ file, reason: `deployment id ${verdict.id} is already used by ${previous.file}` });
      continue;
    }
    let warning: string | null = null;
    try {
      parseDeployment(text, file);
    } catch (err) {
      warning = (err as Error).message;
    }
    const bytes = encoder.encode(text);
    const deployment = { id: verdict.id, file, bytes, digest: sha256Digest(bytes), warning, name: verdict.name, applicationId: verdict.applicationId };
    byId.set(verdict.id, deployment);
    deployments.push(deployment);
  }
  deployments.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { deployments, skipped };
}

/** One digest over the whole desired state: changes exactly when a served deployment changes. */
export function contentDigestOf(deployments: readonly FolderDeployment[]): string {
  return sha256Digest(deployments.map((d) => `${d.id} ${d.digest}\n`).join(""));
}
