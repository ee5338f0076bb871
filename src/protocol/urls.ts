import { AgentError } from "../errors/index.ts";

/**
 * Resolves a manifest URL (server-relative per the spec) against the WFM base URL.
 * Anything that lands on another origin is refused: a compromised or confused
 * manifest must not make the device fetch from elsewhere with its credentials.
 */
export function resolveWfmUrl(base: string, url: string, what: string): string {
  let resolved: URL;
  try {
    resolved = new URL(url, base);
  } catch {
    throw new AgentError("URL_FOREIGN_ORIGIN", `${what}: ${JSON.stringify(url)} is not a valid URL`, { url });
  }
  if (resolved.origin !== new URL(base).origin) {
    throw new AgentError("URL_FOREIGN_ORIGIN", `${what}: ${url} points to ${resolved.origin}, outside the WFM origin ${new URL(base).origin}`, { url });
  }
  return resolved.href;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}
