/** Which URLs the agent fetches packages, keys and signatures from. */
import { AgentError } from "../errors/index.ts";

/** Throws PACKAGE_INSECURE_URL for http without allowInsecureHttp, PACKAGE_DOWNLOAD_FAILED for other schemes. */
export function checkPackageUrl(url: string, allowInsecureHttp: boolean, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${what}: "${url}" is not a valid URL`, { url });
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:") {
    if (allowInsecureHttp) return parsed;
    throw new AgentError(
      "PACKAGE_INSECURE_URL",
      `${what}: ${url} uses plain http; use https, or allow it with packages.allowInsecureHttp: true (MARGO_AGENT_PACKAGES_ALLOW_INSECURE_HTTP; test setups such as the dev WFM only)`,
      { url },
    );
  }
  throw new AgentError("PACKAGE_DOWNLOAD_FAILED", `${what}: ${url} uses the unsupported scheme "${parsed.protocol}" (only https, and http when allowed)`, { url });
}
