/**
 * What `margo-agent dev-wfm issue-svid` prints after minting: the client's
 * SPIFFE ID, the files, and the configuration lines a device needs to talk
 * to this dev WFM in rc3 (identity.certFile/keyFile, wfm.caFile or
 * wfm.trustDiscovery). The WFM URL is the one the dev WFM last listened on
 * (listening.json in the state dir), when there is one.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../../util/atomic-file.ts";
import type { IssuedFiles } from "./identity.ts";

const LISTENING_FILE = "listening.json";

/** Remembers where an rc3 dev WFM listens, for issue-svid's output. */
export async function recordListening(stateDir: string, url: string): Promise<void> {
  await writeFileAtomic(path.join(stateDir, LISTENING_FILE), `${JSON.stringify({ url, pid: process.pid, startedAt: new Date().toISOString() })}\n`, 0o644);
}

export function lastListening(stateDir: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path.join(stateDir, LISTENING_FILE), "utf8")) as { url?: unknown };
    return typeof parsed.url === "string" ? parsed.url : undefined;
  } catch {
    return undefined;
  }
}

export function describeIssued(files: IssuedFiles, wfmUrl: string | undefined): string {
  const url = wfmUrl ?? "https://127.0.0.1:8080";
  const urlNote = wfmUrl === undefined ? "   # the dev WFM's URL (it has not run on this state dir yet)" : "";
  return `SPIFFE ID  ${files.spiffeId}
valid until ${files.notAfter.toISOString()}
wrote      ${files.certFile} (certificate chain)
           ${files.keyFile} (private key, mode 0600)
           ${files.bundleFile} (trust bundle: the dev WFM's CA)

For the device's config.yaml:

wfm:
  profile: rc3
  url: ${url}${urlNote}
  caFile: ${files.bundleFile}
  # or, instead of caFile, fetch the bundle from the dev WFM's discovery document:
  # trustDiscovery: ${url}
identity:
  certFile: ${files.certFile}
  keyFile: ${files.keyFile}
`;
}
