/** Query parameters of the local API, parsed strictly: a malformed one is a 400 naming it (ApiProblem). */
import { ApiProblem } from "./errors.ts";

export function booleanParam(name: string, text: string | undefined): boolean {
  if (text === undefined || text === "" || text === "1" || text === "true") return text !== undefined;
  if (text === "0" || text === "false") return false;
  throw new ApiProblem(400, "API_BAD_REQUEST", `?${name}=${text}: expected true or false`);
}

export function integerParam(name: string, text: string | undefined, bounds: { min: number; max: number }): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= bounds.min && n <= bounds.max)) throw new ApiProblem(400, "API_BAD_REQUEST", `?${name}=${text}: expected a whole number from ${bounds.min} to ${bounds.max}`);
  return n;
}
