/**
 * Which commit the configured ref names on the server, from `git ls-remote`: the
 * GitOps source's cheap check (one request, nothing written), like a 304 for the
 * REST source. A branch wins over a tag of the same name; an annotated tag is
 * peeled to its commit.
 */
import { AgentError } from "../errors/index.ts";

export interface RemoteTip {
  /** The commit id (40 or 64 hex). */
  commit: string;
  /** The full ref on the server (refs/heads/main, refs/tags/v1). */
  ref: string;
}

/** The patterns to ask ls-remote for. */
export function refPatterns(ref: string): string[] {
  if (ref.startsWith("refs/")) return [ref];
  return [`refs/heads/${ref}`, `refs/tags/${ref}`];
}

const LINE = /^([0-9a-f]{40}|[0-9a-f]{64})\t(refs\/\S+)$/;

/** Picks the tip from ls-remote's output; throws GIT_REF_NOT_FOUND when the ref is not there. */
export function pickTip(output: string, ref: string, url: string): RemoteTip {
  const refs = new Map<string, string>();
  for (const line of output.split("\n")) {
    const m = LINE.exec(line.trim());
    if (m) refs.set(m[2]!, m[1]!);
  }
  for (const name of refPatterns(ref)) {
    // ls-remote matches patterns by their tail: only an exact name counts.
    const peeled = refs.get(`${name}^{}`);
    if (peeled) return { commit: peeled, ref: name };
    const direct = refs.get(name);
    if (direct) return { commit: direct, ref: name };
  }
  throw new AgentError("GIT_REF_NOT_FOUND", `git.ref ${JSON.stringify(ref)}: ${url} has no branch or tag of that name`);
}
