/**
 * The interface the resolver uses: a component named by repository + revision becomes an
 * unpacked compose project on disk. Pull (mirrors, origin, cache; verified) then unpack (shared,
 * content-addressed). The result has the fields of src/packages' ResolvedPackage, plus where it
 * came from.
 */
import type { ExtractLimits } from "./archive-io.ts";
import { unpackComposeArchive } from "./compose-archive.ts";
import { ARTIFACT_KINDS } from "./media-types.ts";
import type { OciPuller, PullOptions, PulledArtifact } from "./puller.ts";
import { parseComponentReference } from "./reference.ts";

export interface OciComponentInput {
  deploymentId: string;
  componentName: string;
  /** oci://host[:port]/path */
  repository: string;
  /** The tag (SemVer), or sha256:…, or tag@sha256:… */
  revision?: string;
}

export interface FetchedComposeComponent {
  /** Absolute path of compose.yaml in the unpacked project. */
  composeFile: string;
  /** The project directory (the archive's top-level directory). */
  dir: string;
  /** The layer digest: what the package is, byte for byte. */
  packageDigest: string;
  /** The manifest digest the revision resolved to (changes when a tag moves). */
  manifestDigest: string;
  pulled: PulledArtifact;
}

export async function fetchComposeComponent(
  puller: OciPuller,
  input: OciComponentInput,
  opts: PullOptions & { extractLimits?: ExtractLimits } = {},
): Promise<FetchedComposeComponent> {
  const ref = parseComponentReference(input.repository, input.revision);
  const pulled = await puller.pull(ref, ARTIFACT_KINDS.compose, { ...opts, deploymentId: opts.deploymentId ?? input.deploymentId });
  const pkg = await unpackComposeArchive(pulled.layer, {
    cacheDir: puller.cache.root,
    limits: opts.extractLimits,
    what: `component "${input.componentName}" (${input.repository}${input.revision ? ` revision ${input.revision}` : ""}, layer ${pulled.layer.digest})`,
  });
  return { composeFile: pkg.composeFile, dir: pkg.dir, packageDigest: pulled.layer.digest, manifestDigest: pulled.manifestDigest, pulled };
}
