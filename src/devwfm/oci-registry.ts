/**
 * A small read-only OCI Distribution endpoint of the dev WFM's own, so the
 * demo needs no registry: each folder `DIR/packages/<name>/` holding a
 * `compose.yaml` is served as the Margo compose artifact
 * `oci://<dev WFM host>/packages/<name>`, at any SemVer tag (the tag becomes
 * its version annotation). The archive is built the way `margo-agent package
 * build` builds it (deterministic: the same folder, the same digest). Any real
 * registry works in its place (docs/protocol.md §9).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildComposeArchive } from "../oci/build.ts";
import { ARTIFACT_KINDS, EMPTY_BYTES, EMPTY_DESCRIPTOR, OCI_MANIFEST } from "../oci/media-types.ts";
import { artifactManifest } from "../oci/push.ts";
import { sha256Digest } from "../protocol/digest.ts";

const NAME = /^packages\/([a-z0-9]+(?:[._-][a-z0-9]+)*)$/;
const TAG = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export type OciAnswer = { status: 200; body: Uint8Array; type: string; digest: string } | { status: 404 | 400; code: string; message: string };

/** One artifact as served: its manifest per tag, and its blobs by digest. */
interface Built {
  layer: Uint8Array;
  layerDigest: string;
}

export class DevOciRegistry {
  constructor(private readonly packagesDir: () => string) {}

  private async build(name: string): Promise<Built | undefined> {
    const m = NAME.exec(name);
    if (!m) return undefined;
    const dir = join(this.packagesDir(), m[1]!);
    if (!existsSync(join(dir, "compose.yaml"))) return undefined;
    const built = await buildComposeArchive(dir);
    return { layer: built.bytes, layerDigest: built.digest };
  }

  async manifest(name: string, reference: string): Promise<OciAnswer> {
    const built = await this.build(name);
    if (!built) return { status: 404, code: "NAME_UNKNOWN", message: `no package folder with a compose.yaml for ${name}` };
    if (!TAG.test(reference)) return { status: 404, code: "MANIFEST_UNKNOWN", message: `the dev WFM serves SemVer tags only, not ${reference}` };
    const body = artifactManifest(ARTIFACT_KINDS.compose, { digest: built.layerDigest, size: built.layer.byteLength }, { version: reference, title: name.slice("packages/".length) });
    return { status: 200, body, type: OCI_MANIFEST, digest: sha256Digest(body) };
  }

  async blob(name: string, digest: string): Promise<OciAnswer> {
    if (digest === EMPTY_DESCRIPTOR.digest) return { status: 200, body: EMPTY_BYTES, type: EMPTY_DESCRIPTOR.mediaType, digest };
    const built = await this.build(name);
    if (built && built.layerDigest === digest) return { status: 200, body: built.layer, type: ARTIFACT_KINDS.compose.layerMediaType, digest };
    return { status: 404, code: "BLOB_UNKNOWN", message: `no blob ${digest} in ${name}` };
  }
}
