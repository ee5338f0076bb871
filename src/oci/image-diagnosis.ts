/**
 * Why a container engine could not get an image, asked of the registry itself.
 * The engines' own errors do not say (Docker falls back to plain http for a
 * loopback registry and reports a reset; docker-compose through Podman's API
 * reports only "image not known"). One manifest request with our own client
 * (the same credentials, CAs, mirrors and URL policy as package pulls) tells
 * REGISTRY_UNAUTHORIZED, REGISTRY_UNREACHABLE and IMAGE_NOT_FOUND apart.
 */
import { AgentError } from "../errors/index.ts";
import type { RegistryTransport } from "./transport.ts";

export interface ImageReference {
  /** host[:port] as the transport keys it. */
  registry: string;
  repository: string;
  /** A tag or a digest. */
  reference: string;
}

/** A docker-style image name (`[host[:port]/]path[:tag][@digest]`), as compose files write them. */
export function parseImageReference(image: string): ImageReference | undefined {
  if (!image || /[\s$]/.test(image)) return undefined; // interpolated or malformed: nothing to ask about
  let rest = image;
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasHost = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (hasHost) return { registry: first.toLowerCase(), repository: rest.slice(slash + 1), reference };
  // Docker Hub: one registry by several names, official images under library/.
  return { registry: "registry-1.docker.io", repository: slash >= 0 ? rest : `library/${rest}`, reference };
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** The code an image failure really has, or undefined when the registry has the image (the engine failed otherwise). */
export async function diagnoseImage(transport: RegistryTransport, image: string, signal: AbortSignal): Promise<AgentError | undefined> {
  const ref = parseImageReference(image);
  if (!ref) return undefined;
  const what = `image ${image}`;
  let last: AgentError | undefined;
  for (const ep of transport.endpointsFor(ref.registry)) {
    try {
      const res = await transport.request(ep, { method: "HEAD", path: `/v2/${ref.repository}/manifests/${ref.reference}`, headers: { accept: MANIFEST_TYPES }, scope: `repository:${ref.repository}:pull`, signal, what });
      if (res.ok) return undefined;
      const err = await transport.statusError(res, what);
      if (err.code === "ARTIFACT_NOT_FOUND") return new AgentError("IMAGE_NOT_FOUND", `${what}: the registry ${ep.key} has no such image or tag`, { image, registry: ep.key });
      last = err;
      if (err.code === "REGISTRY_UNAUTHORIZED") return err;
    } catch (err) {
      if (err instanceof AgentError && err.code === "REGISTRY_UNAUTHORIZED") return err;
      last = err instanceof AgentError ? err : new AgentError("REGISTRY_UNREACHABLE", `${what}: ${(err as Error).message}`, { image, registry: ep.key });
    }
  }
  if (!last) return undefined;
  return last.code === "REGISTRY_UNREACHABLE" ? last : new AgentError("REGISTRY_UNREACHABLE", `${what}: ${last.message}`, { image, registry: ref.registry });
}
