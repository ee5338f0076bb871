import { AgentError } from "../errors/index.ts";

/**
 * URLs towards the WFM (docs/protocol.md, "Profiles" and §4). The base URL
 * (`wfm.url`) may carry a path prefix, as WFMs mounted under one do
 * (`https://host/v1alpha2/margo`): every route and every server-relative URL
 * in a manifest resolves under it, not under the origin. Anything that lands
 * on another origin is refused: a compromised or confused manifest must not
 * make the device fetch from elsewhere with its credentials.
 */

/** The base without trailing slashes: routes ("/api/v1/…") are appended to it. */
export function normaliseBase(base: string): string {
  return base.replace(/\/+$/, "");
}

/** A route of the profile (a path starting with "/") under the base URL. */
export function routeUrl(base: string, path: string): string {
  if (!path.startsWith("/")) throw new Error(`routeUrl: a route starts with "/", got ${JSON.stringify(path)}`);
  return `${normaliseBase(base)}${path}`;
}

/** The base URL's path prefix without the trailing slash: "" for an origin, "/v1alpha2/margo" under a prefix. */
export function basePath(base: string): string {
  return normaliseBase(new URL(base).pathname);
}

/**
 * Resolves a manifest URL against the WFM base URL:
 * - a path-absolute URL ("/api/v1/bundles/…") goes under the base's path
 *   prefix, unless it already starts with that prefix (a WFM that writes its
 *   own mount point into the manifest);
 * - a relative path ("api/v1/…") resolves under the base as a directory;
 * - an absolute URL is taken as it is;
 * and in every case the result must be on the WFM's origin.
 */
export function resolveWfmUrl(base: string, url: string, what: string): string {
  const baseUrl = new URL(base);
  const prefix = basePath(base);
  let resolved: URL;
  try {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url) || /^[\\/]{2}/.test(url)) {
      // An absolute or scheme-relative URL: only the origin check below decides.
      resolved = new URL(url, baseUrl);
    } else if (/^[\\/]/.test(url)) {
      const path = url.replace(/^\\/, "/");
      const underBase = prefix !== "" && (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`));
      resolved = new URL(underBase ? path : `${prefix}${path}`, baseUrl.origin);
    } else {
      resolved = new URL(url, `${baseUrl.origin}${prefix}/`);
    }
  } catch {
    throw new AgentError("URL_FOREIGN_ORIGIN", `${what}: ${JSON.stringify(url)} is not a valid URL`, { url });
  }
  if (resolved.origin !== baseUrl.origin) {
    throw new AgentError("URL_FOREIGN_ORIGIN", `${what}: ${url} points to ${resolved.origin}, outside the WFM origin ${baseUrl.origin}`, { url });
  }
  return resolved.href;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}
