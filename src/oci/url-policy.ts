/**
 * Which URLs the registry client may talk to: every request, redirect hop, token realm and mirror
 * goes through here. https always; plain http only towards a loopback address and only when the
 * operator allowed insecure packages (a test registry or the dev WFM on the same machine).
 */
import { isLoopbackHost } from "../util/loopback.ts";
import { AgentError } from "../errors/index.ts";

export function checkRegistryUrl(url: URL, allowInsecureHttp: boolean, what: string): void {
  if (url.username || url.password) {
    throw new AgentError("REGISTRY_UNREACHABLE", `${what}: ${url.origin} carries credentials in the URL; refused`, { url: url.origin });
  }
  if (url.protocol === "https:") return;
  if (url.protocol === "http:") {
    if (!isLoopbackHost(url.hostname)) {
      throw new AgentError("PACKAGE_INSECURE_URL", `${what}: ${url.origin}${url.pathname} uses plain http towards a host that is not loopback; registries are reached over https`, { url: url.origin });
    }
    if (!allowInsecureHttp) {
      throw new AgentError("PACKAGE_INSECURE_URL", `${what}: ${url.origin}${url.pathname} uses plain http; allow it with packages.allowInsecureHttp (loopback registries only)`, { url: url.origin });
    }
    return;
  }
  throw new AgentError("PACKAGE_INSECURE_URL", `${what}: ${url.protocol} URLs are not followed (only https, and http to loopback when allowed)`, { url: url.origin });
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach (src/util/loopback.ts). */
export { isLoopbackHost };

/** host[:port] of a URL, the way references, mirrors, CA and credential tables are keyed. */
export function hostKey(url: URL): string {
  return url.host.toLowerCase();
}
