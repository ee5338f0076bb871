/**
 * Judging an entry's path before anything is written under it. Rejecting rather than rewriting:
 * an archive that tries to escape its directory is hostile, and extracting the rest of it anyway
 * would hide that.
 */
export type PathVerdict =
  | { ok: true; path: string; isRoot: boolean }
  | { ok: false; reason: string };

/** Normalises `raw` to 'a/b/c' (no './' or empty segments) or says why it is unsafe. */
export function normaliseEntryPath(raw: string): PathVerdict {
  if (raw === "") return { ok: false, reason: "has an empty path" };
  if (raw.includes("\u0000")) return { ok: false, reason: "has a NUL byte in its path" };
  if (raw.startsWith("/")) return { ok: false, reason: "has an absolute path" };
  // A backslash or drive letter is an ordinary character on Linux but a separator or root
  // elsewhere; no legitimate bundle needs one, so refuse rather than guess.
  if (raw.includes("\\")) return { ok: false, reason: "has a backslash in its path" };
  if (/^[A-Za-z]:/.test(raw)) return { ok: false, reason: "has a drive-letter path" };
  const segments: string[] = [];
  for (const segment of raw.split("/")) {
    if (segment === "..") return { ok: false, reason: "has a '..' segment in its path" };
    if (segment === "" || segment === ".") continue;
    segments.push(segment);
  }
  return { ok: true, path: segments.join("/"), isRoot: segments.length === 0 };
}
