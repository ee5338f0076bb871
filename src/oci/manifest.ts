/**
 * OCI image manifests and indexes (image spec v1.1) as the puller reads them, and the check that a
 * manifest is an artifact of a given kind. Unknown fields are allowed, as the image spec requires
 * of readers; the fields we act on are validated strictly.
 */
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { ANNOTATION, type ArtifactKind, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from "./media-types.ts";
import { SHA256_DIGEST } from "./reference.ts";

const annotations = v.optional(v.record(v.string(), v.string("annotation values must be strings")));

const DescriptorSchema = v.object({
  mediaType: v.pipe(v.string("mediaType must be a string"), v.minLength(1, "mediaType must not be empty")),
  digest: v.string("digest must be a string"),
  size: v.pipe(v.number("size must be a number"), v.safeInteger("size must be an integer"), v.minValue(0, "size must be ≥ 0")),
  urls: v.optional(v.array(v.string())),
  annotations,
  artifactType: v.optional(v.string()),
  data: v.optional(v.string()),
});
export type Descriptor = v.InferOutput<typeof DescriptorSchema>;

const ImageManifestSchema = v.object({
  schemaVersion: v.literal(2, "schemaVersion must be 2"),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.array(DescriptorSchema, "layers must be an array of descriptors"),
  annotations,
});
export type ImageManifest = v.InferOutput<typeof ImageManifestSchema>;

const ImageIndexSchema = v.object({
  schemaVersion: v.literal(2, "schemaVersion must be 2"),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  manifests: v.array(DescriptorSchema, "manifests must be an array of descriptors"),
  annotations,
});
export type ImageIndex = v.InferOutput<typeof ImageIndexSchema>;

export type ParsedManifest = { kind: "manifest"; manifest: ImageManifest } | { kind: "index"; index: ImageIndex };

/**
 * Parses a manifest body. `contentType` is the response's Content-Type; the body's own mediaType,
 * when present, must agree with it (a body that says one thing and is served as another is the
 * confusion the image spec's mediaType field exists to prevent).
 */
export function parseManifest(bytes: Uint8Array, contentType: string | null, where: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    invalid(where, `the manifest is not UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) invalid(where, "the manifest is not a JSON object");
  const bodyType = (json as { mediaType?: unknown }).mediaType;
  const served = contentType?.split(";")[0]?.trim().toLowerCase() || undefined;
  if (bodyType !== undefined && typeof bodyType !== "string") invalid(where, "the manifest's mediaType is not a string");
  if (typeof bodyType === "string" && served !== undefined && served !== bodyType && served !== "application/json") {
    invalid(where, `the manifest says mediaType ${bodyType} but was served as ${served}`);
  }
  const type = (bodyType as string | undefined) ?? served;
  if (type === OCI_INDEX || (type === undefined && "manifests" in json)) {
    return { kind: "index", index: validate(ImageIndexSchema, json, where, "image index") };
  }
  if (type !== OCI_MANIFEST && type !== undefined) {
    invalid(where, `the manifest has media type ${type}; an OCI image manifest (${OCI_MANIFEST}) is needed`);
  }
  return { kind: "manifest", manifest: validate(ImageManifestSchema, json, where, "image manifest") };
}

/**
 * The descriptor of the manifest to follow in an index: the one entry whose artifactType is the
 * kind's, else the only image manifest the index lists. Indexes of indexes are not followed.
 */
export function selectFromIndex(index: ImageIndex, kind: ArtifactKind, where: string): Descriptor {
  const manifests = index.manifests.filter((d) => d.mediaType === OCI_MANIFEST);
  const typed = manifests.filter((d) => d.artifactType === kind.artifactType);
  const chosen = typed.length === 1 ? typed[0] : typed.length === 0 && manifests.length === 1 ? manifests[0] : undefined;
  if (!chosen) {
    invalid(where, `the image index lists ${manifests.length} image manifest(s), ${typed.length} with artifactType ${kind.artifactType}; exactly one is needed`);
  }
  checkDigest(chosen.digest, where, "index entry");
  return chosen;
}

export interface CheckedArtifact {
  layer: Descriptor;
  /** Manifest annotations, overlaid by the layer's (the Margo spec puts them on the layer). */
  annotations: Record<string, string>;
  /** The artifactType the manifest declares (or its config.mediaType). */
  artifactType: string;
}

/**
 * Is this manifest an artifact of `kind`? artifactType, or config.mediaType when artifactType is
 * absent (the image spec's guidance for artifacts made before 1.1), must be the kind's; exactly
 * one layer of the kind's media type, with others only from its ignored list; no foreign URLs.
 * `expectedVersion` (the tag asked for) must match org.margo.component.version when present.
 */
export function checkArtifact(manifest: ImageManifest, kind: ArtifactKind, where: string, expectedVersion?: string): CheckedArtifact {
  const declared = manifest.artifactType ?? (manifest.config.mediaType !== OCI_EMPTY ? manifest.config.mediaType : undefined);
  if (declared !== kind.artifactType) {
    invalid(where, `artifactType is ${declared ?? "absent"}; a ${kind.name} has ${kind.artifactType}`);
  }
  const packages = manifest.layers.filter((l) => l.mediaType === kind.layerMediaType);
  const foreign = manifest.layers.filter((l) => l.mediaType !== kind.layerMediaType && !kind.ignoredLayerMediaTypes.includes(l.mediaType));
  if (foreign.length > 0) {
    invalid(where, `layer media type ${foreign[0]!.mediaType} is not ${kind.layerMediaType}`);
  }
  if (packages.length !== 1) {
    invalid(where, `the manifest has ${packages.length} layers of media type ${kind.layerMediaType}; a ${kind.name} has exactly one`);
  }
  const layer = packages[0]!;
  checkDigest(layer.digest, where, "layer");
  if (layer.urls && layer.urls.length > 0) invalid(where, "the layer names foreign URLs; only registry blobs are fetched");
  const merged = { ...(manifest.annotations ?? {}), ...(layer.annotations ?? {}) };
  const type = merged[ANNOTATION.componentType];
  if (type !== undefined && type !== kind.componentType) {
    invalid(where, `annotation ${ANNOTATION.componentType} is ${JSON.stringify(type)}, not ${JSON.stringify(kind.componentType)}`);
  }
  const version = merged[ANNOTATION.componentVersion];
  if (version !== undefined && expectedVersion !== undefined && version !== expectedVersion) {
    invalid(where, `annotation ${ANNOTATION.componentVersion} is ${JSON.stringify(version)} but the revision asked for is ${JSON.stringify(expectedVersion)}`);
  }
  return { layer, annotations: merged, artifactType: declared };
}

export function checkDigest(digest: string, where: string, what: string): void {
  if (!SHA256_DIGEST.test(digest)) {
    throw new AgentError("DIGEST_UNSUPPORTED", `${where}: the ${what} digest ${JSON.stringify(digest.slice(0, 80))} is not sha256:<64 lowercase hex>`, { where });
  }
}

function validate<S extends v.GenericSchema>(schema: S, json: unknown, where: string, what: string): v.InferOutput<S> {
  const r = v.safeParse(schema, json);
  if (!r.success) {
    const issue = r.issues[0];
    const path = issue.path?.map((p: { key: unknown }) => String(p.key)).join(".") || "(top)";
    invalid(where, `not a valid ${what}: ${path}: ${issue.message}`);
  }
  return r.output;
}

function invalid(where: string, why: string): never {
  throw new AgentError("ARTIFACT_INVALID", `${where}: ${why}`, { where });
}
