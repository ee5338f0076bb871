/**
 * The version a commit is reported under. Status reports carry
 * adoptedManifestVersion, an unsigned 64-bit integer (docs/protocol.md §6), so a
 * commit id does not fit; its first 16 hex digits do, exactly: the number is the
 * commit's abbreviation read as hex, and a Git-based WFM turns it back into the
 * commit with `git rev-parse <16 hex>` (docs/protocol.md, "GitOps source").
 * It is an identifier, not an order: which commit may follow which is decided
 * by ancestry, never by comparing these numbers.
 */
export function commitVersion(commit: string): bigint {
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) throw new Error(`not a commit id: ${JSON.stringify(commit)}`);
  return BigInt(`0x${commit.slice(0, 16)}`);
}

/** The 16-hex abbreviation a reported version stands for. */
export function versionAbbrev(version: bigint): string {
  return version.toString(16).padStart(16, "0");
}
