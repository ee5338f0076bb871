/** The two HTTP header rules the manifest route needs: Accept and If-None-Match. */

/** True unless Accept is present and excludes `type` (q=0 counts as excluded). */
export function accepts(acceptHeader: string | null, type: string): boolean {
  if (acceptHeader === null || acceptHeader.trim() === "") return true;
  const [major] = type.split("/");
  for (const range of acceptHeader.split(",")) {
    const [mediaRange = "", ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && Number(q.slice(2)) === 0) continue;
    if (mediaRange === "*/*" || mediaRange === `${major}/*` || mediaRange === type) return true;
  }
  return false;
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`. */
export function noneMatchHits(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === "*") return true;
  return ifNoneMatch
    .split(",")
    .map((t) => t.trim().replace(/^W\//, ""))
    .includes(etag);
}
