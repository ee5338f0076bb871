/**
 * Which failures while taking a manifest are verdicts on its content and which
 * are only bad luck. A verdict (a digest that does not match, a schema error, a
 * rollback, a foreign URL, an unsafe bundle) stays true for as long as the WFM
 * serves the same manifest, so it is remembered by ETag and not fetched again.
 * Anything else (a 404 or 503 on an artifact, a timeout, a full disk, a bug) may
 * be gone on the next try: it is retried with backoff and never remembered.
 * See docs/protocol.md, "Refused and failed manifests".
 */
import type { ErrorCode } from "../errors/codes.ts";

const CONTENT_VERDICTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "MANIFEST_INVALID",
  "MANIFEST_VERSION_NOT_NEWER",
  "URL_FOREIGN_ORIGIN",
  "DIGEST_MISMATCH",
  "DIGEST_UNSUPPORTED",
  "BUNDLE_UNSAFE",
  "BUNDLE_TOO_LARGE",
  "BUNDLE_INVALID",
  "BUNDLE_INCOMPLETE",
  // Artifacts are content-addressed: one too large for the limit stays too large.
  "WFM_BODY_TOO_LARGE",
  "DEPLOYMENT_INVALID",
  "DEPLOYMENT_ID_MISMATCH",
]);

/** True when `code` judges the manifest's content, so retrying the same manifest cannot help. */
export function isContentVerdict(code: ErrorCode): boolean {
  return CONTENT_VERDICTS.has(code);
}
