/**
 * The desired-state manifest (PROTOCOL.md §4): schema, exact manifestVersion, and
 * the rules the schema alone cannot say (bundle null exactly when there are no
 * deployments, unique ids, digests in the URLs).
 */
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { deploymentIdSchema } from "./deployment-id.ts";
import { isDigest } from "./digest.ts";
import { parseJsonExact } from "./exact-json.ts";
import { describeIssues, extensibleObject } from "./strict-keys.ts";

export const BUNDLE_MEDIA_TYPE = "application/vnd.margo.bundle.v1+tar+gzip";
export const MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json";
export const MAX_MANIFEST_VERSION = 2n ** 64n - 1n;

const digest = v.pipe(v.string(), v.check(isDigest, "must be sha256:<64 lowercase hex>"));
// parseJsonExact gives integer literals as bigint and anything written with a
// fraction or an exponent as a number: only the former is an integer here.
const sizeBytes = v.optional(v.pipe(v.bigint("must be a non-negative integer literal"), v.minValue(0n, "must be a non-negative integer literal")));
const manifestVersion = v.pipe(
  v.bigint("must be an unsigned decimal integer literal (digits only: no fraction, exponent, sign or quotes)"),
  v.check((n) => n >= 1n && n <= MAX_MANIFEST_VERSION, "must be between 1 and 2^64-1"),
);

const BundleRefSchema = extensibleObject({
  mediaType: v.literal(BUNDLE_MEDIA_TYPE, `must be ${BUNDLE_MEDIA_TYPE}`),
  digest,
  sizeBytes,
  url: v.pipe(v.string(), v.minLength(1)),
});

const DeploymentRefSchema = extensibleObject({
  deploymentId: deploymentIdSchema,
  digest,
  sizeBytes,
  url: v.pipe(v.string(), v.minLength(1)),
});

export const ManifestSchema = v.pipe(
  extensibleObject({
    manifestVersion,
    bundle: v.nullable(BundleRefSchema),
    deployments: v.array(DeploymentRefSchema),
  }),
  v.check((m) => (m.bundle === null) === (m.deployments.length === 0), "bundle must be null exactly when deployments is empty"),
  v.check(
    (m) => new Set(m.deployments.map((d) => d.deploymentId)).size === m.deployments.length,
    "deployments lists the same deploymentId twice",
  ),
);

export type StateManifest = v.InferOutput<typeof ManifestSchema>;
export type DeploymentRef = StateManifest["deployments"][number];

/** Parses the exact bytes of a manifest response. Throws MANIFEST_INVALID naming the field. */
export function parseManifest(bytes: Uint8Array, what = "state manifest"): StateManifest {
  let json: unknown;
  try {
    json = parseJsonExact(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new AgentError("MANIFEST_INVALID", `${what}: not valid JSON: ${(err as Error).message}`);
  }
  if (json !== null && typeof json === "object" && "bundle" in json === false && !Array.isArray(json)) {
    throw new AgentError("MANIFEST_INVALID", `${what}: bundle: must be present (null when there are no deployments)`);
  }
  const result = v.safeParse(ManifestSchema, json);
  if (!result.success) throw new AgentError("MANIFEST_INVALID", `${what}: ${describeIssues(result.issues)}`);
  return result.output;
}

/** Rollback protection: a manifest must be strictly newer than the last one applied. */
export function assertNewerVersion(next: bigint, last: bigint | null): void {
  if (last !== null && next <= last) {
    throw new AgentError(
      "MANIFEST_VERSION_NOT_NEWER",
      `state manifest: manifestVersion ${next} is not greater than the last applied ${last}; refusing it (possible rollback attack) and keeping the current workloads`,
      { manifestVersion: next.toString(), lastApplied: last.toString() },
    );
  }
}
