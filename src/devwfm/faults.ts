/**
 * Fault switches: parsing the CLI form (`status=503:5`, `status=422`,
 * `status=down`, `manifest=503`, `status=ok`) and the JSON form of
 * PUT /api/dev/faults. Pure functions; the server applies the result.
 */
import { FAULT_ROUTES, type FaultMode, type FaultRoute, type FaultSpec } from "./types.ts";

export class FaultSyntaxError extends Error {}

function isRoute(name: string): name is FaultRoute {
  return (FAULT_ROUTES as readonly string[]).includes(name);
}

function checkCode(code: number, where: string): number {
  if (!Number.isInteger(code) || code < 400 || code > 599) {
    throw new FaultSyntaxError(`${where}: the status code must be an integer from 400 to 599, got ${code}`);
  }
  return code;
}

function checkRetryAfter(seconds: number, where: string): number {
  if (!Number.isInteger(seconds) || seconds < 0) throw new FaultSyntaxError(`${where}: retryAfter must be a non-negative integer (seconds), got ${seconds}`);
  return seconds;
}

/** `ok`, `down`, `<code>` or `<code>:<retry-after seconds>`. */
export function parseFaultMode(text: string, where: string): FaultMode {
  if (text === "ok" || text === "down") return text;
  const m = /^(\d{3})(?::(\d+))?$/.exec(text);
  if (m === null) throw new FaultSyntaxError(`${where}: expected ok, down, CODE or CODE:RETRY_AFTER_SECONDS, got ${JSON.stringify(text)}`);
  const code = checkCode(Number(m[1]), where);
  return m[2] === undefined ? { code } : { code, retryAfter: checkRetryAfter(Number(m[2]), where) };
}

/** Folds repeated `--fault ROUTE=MODE` flags into one spec (a later flag for the same route wins). */
export function parseFaultFlags(flags: readonly string[]): FaultSpec {
  const spec: FaultSpec = {};
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    const route = eq < 0 ? flag : flag.slice(0, eq);
    if (eq < 0 || !isRoute(route)) {
      throw new FaultSyntaxError(`--fault ${flag}: expected ROUTE=MODE with ROUTE one of ${FAULT_ROUTES.join(", ")}`);
    }
    spec[route] = parseFaultMode(flag.slice(eq + 1), `--fault ${flag}`);
  }
  return spec;
}

function modeFromJson(value: unknown, where: string): FaultMode {
  if (value === "ok" || value === "down") return value;
  if (typeof value === "string") return parseFaultMode(value, where);
  if (typeof value === "number") return { code: checkCode(value, where) };
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const { code, retryAfter, ...rest } = value as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new FaultSyntaxError(`${where}: unknown key ${extra[0]} (expected code, retryAfter)`);
    if (typeof code !== "number") throw new FaultSyntaxError(`${where}.code: must be a number`);
    checkCode(code, `${where}.code`);
    if (retryAfter === undefined) return { code };
    if (typeof retryAfter !== "number") throw new FaultSyntaxError(`${where}.retryAfter: must be a number of seconds`);
    return { code, retryAfter: checkRetryAfter(retryAfter, `${where}.retryAfter`) };
  }
  throw new FaultSyntaxError(`${where}: expected "ok", "down" or {code, retryAfter?}`);
}

/**
 * The body of PUT /api/dev/faults, merged over `current`: routes that are not
 * named keep their switch; `null` or "ok" turns one off.
 */
export function mergeFaultJson(current: FaultSpec, body: unknown): FaultSpec {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new FaultSyntaxError(`the body must be a JSON object with keys among ${FAULT_ROUTES.join(", ")}`);
  }
  const next: FaultSpec = { ...current };
  for (const [route, value] of Object.entries(body)) {
    if (!isRoute(route)) throw new FaultSyntaxError(`unknown fault route ${JSON.stringify(route)} (known: ${FAULT_ROUTES.join(", ")})`);
    if (value === null || value === "ok") delete next[route];
    else next[route] = modeFromJson(value, route);
  }
  return next;
}

/** The spec with every route present, "ok" where no fault is set (GET /api/dev/faults). */
export function describeFaults(spec: FaultSpec): Record<FaultRoute, FaultMode> {
  return Object.fromEntries(FAULT_ROUTES.map((r) => [r, spec[r] ?? "ok"])) as Record<FaultRoute, FaultMode>;
}
