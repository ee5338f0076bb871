/**
 * What a deployment id may be. The id names a directory under the data
 * directory (`deployments/<id>`), a URL path segment and a log field, so it
 * must be one safe path segment: `.` or `..` would make the work directory the
 * data directory or its parent, `/` would leave it. Margo ids are UUIDs; this
 * also takes the readable ids WFMs use in practice (`dep-web.v2`, `app_1`).
 * Checked in the manifest and in the ApplicationDeployment alike.
 */
import * as v from "valibot";

/** Starts with a letter or digit (so never `.`, `..` or an option-like `-x`), then letters, digits, `.`, `_`, `-`; at most 200. */
export const DEPLOYMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const DEPLOYMENT_ID_RULE = "must be 1-200 letters, digits, '.', '_' or '-', starting with a letter or digit (a safe path segment)";

export function isSafeDeploymentId(id: string): boolean {
  return DEPLOYMENT_ID.test(id);
}

export const deploymentIdSchema = v.pipe(v.string(), v.regex(DEPLOYMENT_ID, DEPLOYMENT_ID_RULE));
