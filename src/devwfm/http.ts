/** Response and request helpers every dev WFM route shares. */
import type { Context } from "hono";
import { problemTypeForStatus } from "./rc3/problems.ts";
import type { FaultMode } from "./types.ts";

/**
 * Marks a response that must not be sent: the rc3 listener (rc3/listener.ts)
 * destroys the connection instead. Bun.serve (v1) drops it through the failing
 * body stream below and never sees this header.
 */
export const DROP_CONNECTION_HEADER = "x-dev-wfm-drop-connection";

/** Cache-Control for content addressed by its digest: it can never change. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** An RFC 9457 problem+json response. */
export function problem(c: Context, status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify({ type: "about:blank", title, status, detail, ...extra }), status as 400, {
    "Content-Type": "application/problem+json",
    ...headers,
  });
}

/** The response a fault switch asks for, or null to carry on normally. */
export function faultResponse(c: Context, mode: FaultMode | undefined, route: string): Response | null {
  if (mode === undefined || mode === "ok") return null;
  if (mode === "down") {
    // Bun cannot close a socket from a handler; a body stream that fails before its
    // first byte makes Bun reset the connection before any status line is sent, so
    // the client sees a connection error (ECONNRESET), as with a WFM that went away.
    // Bun prints this error on stderr; that line is the trace that it was on purpose.
    return new Response(
      new ReadableStream({
        pull(controller) {
          controller.error(`dev WFM fault ${route}=down: connection dropped on purpose`);
        },
      }),
      { headers: { [DROP_CONNECTION_HEADER]: route } },
    );
  }
  const retryable = mode.code >= 500 || mode.code === 429;
  return problem(
    c,
    mode.code,
    `dev WFM fault ${route}=${mode.code}`,
    `the ${route} route is switched to answer ${mode.code} (PUT /api/dev/faults to change it)`,
    {
      type: problemTypeForStatus(mode.code),
      instance: new URL(c.req.url).pathname,
      retryable,
      ...(mode.retryAfter !== undefined ? { retryAfterSeconds: mode.retryAfter } : {}),
      backoffStrategy: retryable ? (mode.retryAfter !== undefined ? "fixed" : "exponential") : "none",
    },
    mode.retryAfter !== undefined ? { "Retry-After": String(mode.retryAfter) } : {},
  );
}

/** The request body parsed as JSON; `copy` reads a clone, leaving the body for a later reader. */
export async function readJson(c: Context, copy = false): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const text = copy ? await c.req.raw.clone().text() : await c.req.text();
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
  }
}

/** scheme://host:port of the request, what {{WFM_URL}} becomes when no base URL is set. */
export function requestOrigin(c: Context): string {
  return new URL(c.req.url).origin;
}
