/**
 * Reading a WFM's error answer, in both profiles (docs/protocol.md §8): RFC
 * 9457 `application/problem+json` with Margo's hints (`retryable`,
 * `retryAfterSeconds`, `backoffStrategy`, `errors[]`), and the bodies older
 * WFMs send (`{"error": "…"}`, `{"Error": "…"}`, plain text). The one place
 * that decides whether an answer may be retried and when; the status sender,
 * the manifest poll and the capabilities report all ask it. Pure.
 *
 * The rules (Margo's "Retry Semantics" table and problem-type registry):
 * - `type` is the identifier to branch on (`kind`), never fetched; an unknown
 *   or vendor type falls back to the HTTP status;
 * - `Retry-After` outranks `retryAfterSeconds`;
 * - 429, 503 and 500 are retryable with exponential backoff; every other error
 *   is not, unless the body's own `retryable` says otherwise (it is what the
 *   specification tells clients to use);
 * - 502 and 504 without a problem body come from a gateway, not from the WFM:
 *   they are a passing failure like a refused connection, and retried.
 */

/** The Margo problem types (spec problem-types.md), by the fragment that names them. */
export const MARGO_PROBLEM_KINDS = [
  "invalid-request",
  "semantic-error",
  "not-authorized",
  "gateway-not-found",
  "device-not-found",
  "invalid-bundle",
  "deployment-not-found",
  "discovery-document-not-found",
  "spiffe-bundle-not-found",
  "server-cannot-generate-response",
] as const;
export type MargoProblemKind = (typeof MARGO_PROBLEM_KINDS)[number];

export const MARGO_PROBLEM_NAMESPACE = "https://docs.margo.org/specification/problem-types";

export type BackoffStrategy = "none" | "fixed" | "exponential";

/** What the body itself said (only what was there and well-formed). */
export interface ProblemHints {
  retryable?: boolean;
  /** retryAfterSeconds, in ms. */
  retryAfterMs?: number;
  backoffStrategy?: BackoffStrategy;
  title?: string;
  detail?: string;
}

export interface FieldError {
  field?: string;
  message?: string;
}

export interface WfmProblem {
  status: number;
  /** The problem type as sent; "about:blank" when absent (RFC 9457 §4.2.1). */
  type: string;
  /** A Margo problem type, or "other" (about:blank, a vendor type, or no problem body). */
  kind: MargoProblemKind | "other";
  title?: string;
  detail?: string;
  instance?: string;
  errors: FieldError[];
  /** What the body was: problem+json, an older WFM's {"error": …}, anything else, or nothing. */
  format: "problem" | "legacy" | "text" | "none";
  /** Whether the same request may be sent again later. */
  retryable: boolean;
  backoffStrategy: BackoffStrategy;
  /** Do not retry before this (Retry-After, else retryAfterSeconds). */
  retryAfterMs?: number;
  /** The answer in one line: status, title, detail, type. */
  summary: string;
  /** What the body itself said, before the table filled in the rest. */
  said: ProblemHints;
}

/** The parts of an HTTP answer problems are read from. */
export interface ErrorAnswer {
  status: number;
  contentType: string | null;
  /** The body as read (bounded by the caller). */
  body: string;
  /** The Retry-After header. */
  retryAfter: string | null;
}

/** Retryable per the specification's table; 502/504 are a gateway's, not the WFM's (see above). */
const RETRYABLE_STATUS = new Set([429, 500, 503]);
const GATEWAY_STATUS = new Set([502, 504]);
const STRATEGIES: ReadonlySet<string> = new Set(["none", "fixed", "exponential"]);

/**
 * Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from
 * now. Junk, negative values and dates in the past give undefined (0 for a
 * past date: retry now).
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  const delta = at - nowMs;
  return delta > 0 ? delta : 0;
}

function jsonObject(contentType: string | null, body: string): Record<string, unknown> | undefined {
  if (!contentType?.toLowerCase().includes("json")) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  return json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
}

/** The legacy message: {"error": "…"} (PROTOCOL.md §1), {"Error": "…"} (the Margo reference WFM), {"message": "…"}. */
function legacyMessage(p: Record<string, unknown>): string | undefined {
  for (const key of ["error", "Error", "message"]) {
    const value = p[key];
    if (typeof value === "string" && value.trim()) return value.trim();
  }
  return undefined;
}

/**
 * The Margo hints of a JSON error body (problem+json, or an older WFM's JSON),
 * only those present and well-formed; undefined when the body is not JSON.
 */
export function problemHints(contentType: string | null, body: string): ProblemHints | undefined {
  const p = jsonObject(contentType, body);
  if (p === undefined) return undefined;
  const hints: ProblemHints = {};
  if (typeof p.retryable === "boolean") hints.retryable = p.retryable;
  const after = p.retryAfterSeconds;
  if (typeof after === "number" && Number.isFinite(after) && after >= 0) hints.retryAfterMs = after * 1000;
  if (typeof p.backoffStrategy === "string" && STRATEGIES.has(p.backoffStrategy)) hints.backoffStrategy = p.backoffStrategy as BackoffStrategy;
  if (typeof p.title === "string") hints.title = p.title;
  if (typeof p.detail === "string") hints.detail = p.detail;
  const legacy = legacyMessage(p);
  if (legacy !== undefined && hints.detail === undefined) hints.detail = legacy;
  return hints;
}

/** The Margo kind of a `type` URI: `…/problem-types#x`, also `…/problem-types/#x` and `…/problem-types/x`. */
export function problemKind(type: string): MargoProblemKind | "other" {
  if (!type.startsWith(MARGO_PROBLEM_NAMESPACE)) return "other";
  const rest = type.slice(MARGO_PROBLEM_NAMESPACE.length).replace(/^\/?#?/, "");
  return (MARGO_PROBLEM_KINDS as readonly string[]).includes(rest) ? (rest as MargoProblemKind) : "other";
}

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Reads an error answer. Never throws: a malformed body is read as text. */
export function readProblem(answer: ErrorAnswer, nowMs: number = Date.now()): WfmProblem {
  const { status } = answer;
  const json = jsonObject(answer.contentType, answer.body);
  const isProblem = json !== undefined && (answer.contentType?.toLowerCase().includes("problem+json") === true || typeof json.type === "string" || typeof json.title === "string");
  const hints = json === undefined ? undefined : problemHints(answer.contentType, answer.body);
  const legacy = json === undefined ? undefined : legacyMessage(json);
  const format: WfmProblem["format"] = isProblem ? "problem" : legacy !== undefined ? "legacy" : answer.body.trim() ? "text" : "none";

  const type = isProblem && typeof json!.type === "string" && json!.type ? json!.type : "about:blank";
  const kind = problemKind(type);
  const errors: FieldError[] = [];
  if (Array.isArray(json?.errors)) {
    for (const e of json.errors.slice(0, 20)) {
      if (e && typeof e === "object") {
        const { field, message } = e as Record<string, unknown>;
        errors.push({ ...(typeof field === "string" ? { field } : {}), ...(typeof message === "string" ? { message } : {}) });
      }
    }
  }

  const fromGateway = GATEWAY_STATUS.has(status) && format !== "problem";
  const byTable = RETRYABLE_STATUS.has(status) || fromGateway;
  // The body's own retryable decides (the specification tells clients to use it); a lone
  // backoffStrategy says it too ("none": do not retry, "fixed"/"exponential": do); else the table.
  const said = hints?.backoffStrategy;
  const retryable = hints?.retryable ?? (said === "none" ? false : said !== undefined ? true : byTable);
  const backoffStrategy: BackoffStrategy = !retryable ? "none" : said === "fixed" ? "fixed" : "exponential";
  // The header is authoritative; the body's retryAfterSeconds is advice (rc.3 ProblemDetail).
  const retryAfterMs = parseRetryAfter(answer.retryAfter, nowMs) ?? hints?.retryAfterMs;

  const title = hints?.title;
  const detail = hints?.detail ?? (format === "text" ? oneLine(answer.body) : undefined);
  const instance = isProblem && typeof json!.instance === "string" ? json!.instance : undefined;
  const parts = [String(status), title, detail && detail !== title ? detail : undefined].filter(Boolean);
  if (errors.length > 0) parts.push(`(${errors.map((e) => [e.field, e.message].filter(Boolean).join(": ")).join("; ")})`);
  if (type !== "about:blank") parts.push(`[${type}]`);
  return {
    status,
    type,
    kind,
    ...(title !== undefined ? { title } : {}),
    ...(detail !== undefined ? { detail } : {}),
    ...(instance !== undefined ? { instance } : {}),
    errors,
    format,
    retryable,
    backoffStrategy,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    summary: oneLine(parts.join(" "), 600),
    said: hints ?? {},
  };
}

/** The WFM refused who we are (not what we sent): 401, 403, or the not-authorized type. */
export function isIdentityProblem(problem: WfmProblem): boolean {
  return problem.kind === "not-authorized" || problem.status === 401 || problem.status === 403;
}

/** The WFM refused what we sent (400/422, invalid-request, semantic-error): sending it again will not help. */
export function isContentProblem(problem: WfmProblem): boolean {
  return problem.kind === "invalid-request" || problem.kind === "semantic-error" || problem.status === 400 || problem.status === 422;
}
