/**
 * The route a request belongs to, for the simulator's per-route figures
 * (docs/simulate.md): the path with its ids, digests and names replaced by
 * placeholders, so 10,000 devices' polls count as one route. Pure.
 */

/** Segments that name something, keyed by the segment before them. */
const NAMED_AFTER: Record<string, string> = {
  clients: "{clientId}",
  bundles: "{digest}",
  capabilities: "{deviceId}",
};

export function routeOf(method: string, url: string, basePath = ""): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return `${method} (not a URL)`;
  }
  if (basePath && path.startsWith(basePath)) path = path.slice(basePath.length) || "/";
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "v2") return `${method} ${ociRoute(parts)}`;
  if (parts[0] === "packages") return `${method} /packages/{path}`;
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i]!;
    const prev = parts[i - 1];
    if (prev !== undefined && NAMED_AFTER[prev]) out.push(NAMED_AFTER[prev]!);
    else if (prev === "deployments") out.push("{id}");
    else if (parts[i - 2] === "deployments" && seg !== "status") out.push("{digest}");
    else out.push(seg);
  }
  return `${method} /${out.join("/")}`;
}

/** OCI distribution: /v2/<name, one or more segments>/(manifests|blobs|tags)/<reference>. */
function ociRoute(parts: string[]): string {
  let kind = -1;
  for (let i = parts.length - 1; i >= 0 && kind < 0; i--) if (parts[i] === "manifests" || parts[i] === "blobs" || parts[i] === "tags") kind = i;
  if (kind < 0) return parts.length <= 1 ? "/v2/" : "/v2/{name}";
  return `/v2/{name}/${parts[kind]}${kind < parts.length - 1 ? "/{reference}" : ""}`;
}
