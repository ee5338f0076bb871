import { describe, expect, test } from "bun:test";
import type { AgentError } from "../../../src/errors/index.ts";
import { checkArtifact, parseManifest, selectFromIndex } from "../../../src/oci/manifest.ts";
import { ARTIFACT_KINDS, EMPTY_DESCRIPTOR, OCI_INDEX, OCI_MANIFEST } from "../../../src/oci/media-types.ts";

const compose = ARTIFACT_KINDS.compose;
const L = `sha256:${"1".repeat(64)}`;
const layer = (over: Record<string, unknown> = {}) => ({ mediaType: compose.layerMediaType, digest: L, size: 10, ...over });
const manifest = (over: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: compose.artifactType, config: EMPTY_DESCRIPTOR, layers: [layer()], ...over });
const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

function parsed(m: unknown) {
  const p = parseManifest(enc(m), OCI_MANIFEST, "test");
  if (p.kind !== "manifest") throw new Error("not a manifest");
  return p.manifest;
}
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    return { code: (err as AgentError).code, message: (err as Error).message };
  }
  return { code: "none", message: "" };
}

describe("artifact manifests", () => {
  test("a Margo compose manifest passes and yields its layer and merged annotations", () => {
    const m = parsed(manifest({ annotations: { "org.margo.component.type": "compose", a: "manifest" }, layers: [layer({ annotations: { a: "layer" } })] }));
    const c = checkArtifact(m, compose, "test", "1.0.0");
    expect(c.layer.digest).toBe(L);
    expect(c.annotations).toEqual({ "org.margo.component.type": "compose", a: "layer" });
  });

  test("artifactType on config.mediaType (the image spec's guidance without artifactType) is tolerated", () => {
    const m = parsed(manifest({ artifactType: undefined, config: { mediaType: compose.artifactType, digest: L, size: 2 } }));
    expect(checkArtifact(m, compose, "test").artifactType).toBe(compose.artifactType);
  });

  test.each([
    ["a wrong artifactType", manifest({ artifactType: "application/vnd.docker.compose.project" }), "artifactType is application/vnd.docker.compose.project"],
    ["no artifactType and the empty config", manifest({ artifactType: undefined }), "artifactType is absent"],
    ["a wrong layer media type", manifest({ layers: [layer({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })] }), "layer media type application/vnd.oci.image.layer.v1.tar+gzip"],
    ["two layers", manifest({ layers: [layer(), layer()] }), "has 2 layers"],
    ["no layer", manifest({ layers: [] }), "has 0 layers"],
    ["a layer with foreign URLs", manifest({ layers: [layer({ urls: ["https://elsewhere.example/blob"] })] }), "foreign URLs"],
    ["a helm type annotation", manifest({ annotations: { "org.margo.component.type": "helm.v3" } }), "org.margo.component.type"],
    ["a version annotation that is not the tag", manifest({ layers: [layer({ annotations: { "org.margo.component.version": "2.0.0" } })] }), "org.margo.component.version"],
  ])("%s is ARTIFACT_INVALID", (_name, m, message) => {
    const r = refusal(() => checkArtifact(parsed(m), compose, "test", "1.0.0"));
    expect(r.code).toBe("ARTIFACT_INVALID");
    expect(r.message).toContain(message);
  });

  test("a layer digest that is not sha256 is DIGEST_UNSUPPORTED", () => {
    expect(refusal(() => checkArtifact(parsed(manifest({ layers: [layer({ digest: "sha512:00" })] })), compose, "t")).code).toBe("DIGEST_UNSUPPORTED");
  });

  test("the Helm kind takes config.mediaType and ignores a provenance layer", () => {
    const helm = ARTIFACT_KINDS.helm;
    const m = parsed(manifest({ artifactType: undefined, config: { mediaType: helm.artifactType, digest: L, size: 5 }, layers: [{ mediaType: helm.layerMediaType, digest: L, size: 9 }, { mediaType: helm.ignoredLayerMediaTypes[0], digest: L, size: 3 }] }));
    expect(checkArtifact(m, helm, "t").layer.size).toBe(9);
  });

  test("a body whose mediaType disagrees with its Content-Type is refused (type confusion)", () => {
    expect(refusal(() => parseManifest(enc(manifest()), OCI_INDEX, "t")).message).toContain("served as");
    expect(refusal(() => parseManifest(enc(manifest({ mediaType: "application/vnd.docker.distribution.manifest.v2+json" })), null, "t")).code).toBe("ARTIFACT_INVALID");
    expect(refusal(() => parseManifest(new TextEncoder().encode("not json"), OCI_MANIFEST, "t")).code).toBe("ARTIFACT_INVALID");
    expect(refusal(() => parseManifest(enc(manifest({ layers: [{ mediaType: "x", digest: L, size: -1 }] })), OCI_MANIFEST, "t")).message).toContain("layers.0.size");
  });

  test("an index: the entry with the kind's artifactType, else its only image manifest", () => {
    const e = (artifactType?: string, digest = L) => ({ mediaType: OCI_MANIFEST, digest, size: 100, ...(artifactType ? { artifactType } : {}) });
    const p = parseManifest(enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [e("other/type", `sha256:${"2".repeat(64)}`), e(compose.artifactType)] }), OCI_INDEX, "t");
    if (p.kind !== "index") throw new Error("expected an index");
    expect(selectFromIndex(p.index, compose, "t").digest).toBe(L);
    expect(selectFromIndex({ schemaVersion: 2, manifests: [e()] }, compose, "t").digest).toBe(L);
    expect(refusal(() => selectFromIndex({ schemaVersion: 2, manifests: [e(), e()] }, compose, "t")).code).toBe("ARTIFACT_INVALID");
  });
});
