/**
 * The problem types of Margo's registry (docs: the rc.3 problem-types page)
 * and the one helper rc3 routes answer errors with: RFC 9457
 * application/problem+json plus Margo's retryable / retryAfterSeconds /
 * backoffStrategy. `about:blank` is what the registry prescribes where no
 * Margo type applies (404 of an unknown route, 429, 500, 503).
 */
import type { Context } from "hono";

const BASE = "https://docs.margo.org/specification/problem-types#";

export const PROBLEM = {
  invalidRequest: { type: `${BASE}invalid-request`, status: 400, title: "Invalid Request" },
  semanticError: { type: `${BASE}semantic-error`, status: 422, title: "Semantic Error" },
  notAuthorized: { type: `${BASE}not-authorized`, status: 403, title: "Not Authorized" },
  gatewayNotFound: { type: `${BASE}gateway-not-found`, status: 404, title: "Gateway not found" },
  deviceNotFound: { type: `${BASE}device-not-found`, status: 404, title: "Device Not Found" },
  invalidBundle: { type: `${BASE}invalid-bundle`, status: 404, title: "Invalid Bundle" },
  deploymentNotFound: { type: `${BASE}deployment-not-found`, status: 404, title: "Deployment Not Found" },
  serverCannotGenerateResponse: { type: `${BASE}server-cannot-generate-response`, status: 406, title: "Server Cannot Generate Response" },
} as const;

export type ProblemKind = keyof typeof PROBLEM;

/** The registry's type for a status code where one fits regardless of the route (fault switches use it). */
export function problemTypeForStatus(status: number): string {
  for (const p of Object.values(PROBLEM)) if (p.status === status && p.status !== 404) return p.type;
  return "about:blank";
}

export interface FieldError {
  field: string;
  message: string;
}

/** A Margo problem response. Client errors are not retryable; `errors` carries field-level detail (422). */
export function margoProblem(
  c: Context,
  kind: ProblemKind,
  detail: string,
  opts: { errors?: FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const p = PROBLEM[kind];
  const body = {
    type: p.type,
    title: p.title,
    status: p.status,
    detail,
    instance: new URL(c.req.url).pathname,
    retryable: false,
    backoffStrategy: "none",
    ...(opts.errors ? { errors: opts.errors } : {}),
  };
  return c.body(JSON.stringify(body), p.status, { "Content-Type": "application/problem+json", ...opts.headers });
}
