/**
 * RFC 9421 §2: component values and the signature base. Our own code rather
 * than the npm `http-message-signatures` package: that package is written
 * around Node's http objects with its own structured-field dependency, while we
 * need only the request-side derived components, plain fields and the `key`
 * dictionary-member parameter, which fit in a few hundred lines here and are
 * checked byte for byte against the RFC's Appendix B vectors in the tests.
 *
 * Unsupported on purpose (each gives a SignatureBaseError, never a guess):
 * the `sf`, `bs`, `tr` and `req` component parameters.
 */
import {
  parseDictionary,
  parseItemText,
  serializeInnerList,
  serializeItem,
  serializeMember,
  type InnerList,
  type Item,
} from "./structured-fields.ts";

/** Everything a component value can be drawn from. `url` is the absolute target URI. */
export interface SignatureContext {
  method?: string;
  url?: string;
  /** Set for responses only (the `@status` component). */
  status?: number;
  headers: Headers;
}

export class SignatureBaseError extends Error {
  override readonly name = "SignatureBaseError";
}

const DERIVED = new Set([
  "@method",
  "@target-uri",
  "@authority",
  "@scheme",
  "@request-target",
  "@path",
  "@query",
  "@query-param",
  "@status",
]);

/**
 * A component identifier from its textual form: `@method`, `content-digest`,
 * `"@query-param";name="Pet"` or `@query-param;name="Pet"` (quotes optional on
 * the name). Field names are lower-cased, as RFC 9421 §2.1 requires.
 */
export function parseComponentId(text: string): Item {
  const trimmed = text.trim();
  if (trimmed.startsWith('"')) return parseItemText(trimmed);
  const semi = trimmed.indexOf(";");
  const name = semi === -1 ? trimmed : trimmed.slice(0, semi);
  const rest = semi === -1 ? "" : trimmed.slice(semi);
  const normalised = name.startsWith("@") ? name : name.toLowerCase();
  return parseItemText(`"${normalised}"${rest}`);
}

export function componentName(id: Item): string {
  if (id.value.type !== "string") throw new SignatureBaseError("a component identifier must be a string");
  return id.value.value;
}

interface UrlParts {
  scheme: string;
  authority: string;
  path: string;
  /** With the leading "?"; "?" alone when the URI has no query (RFC 9421 §2.2.7). */
  query: string;
  /** Without a query, the empty string; used by @target-uri and @request-target. */
  rawQuery: string;
}

/** The last URL taken apart: a device signs requests to the same few URLs (one per poll). */
let lastParts: { url: string; parts: UrlParts } | undefined;

function urlParts(url: string | undefined): UrlParts {
  if (url === undefined) throw new SignatureBaseError("the message has no target URI");
  if (lastParts?.url === url) return lastParts.parts;
  const parts = parseUrlParts(url);
  lastParts = { url, parts };
  return parts;
}

function parseUrlParts(url: string): UrlParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SignatureBaseError(`the target URI is not an absolute URL: ${url}`);
  }
  // URL.search drops a bare trailing "?", which is still part of the target URI.
  const hrefNoHash = u.hash ? u.href.slice(0, -u.hash.length) : u.href;
  const rawQuery = u.search !== "" ? u.search : hrefNoHash.endsWith("?") ? "?" : "";
  return Object.freeze({
    scheme: u.protocol.slice(0, -1).toLowerCase(),
    authority: u.host.toLowerCase(),
    path: u.pathname === "" ? "/" : u.pathname,
    query: rawQuery === "" ? "?" : rawQuery,
    rawQuery,
  });
}

/**
 * RFC 9421 §2.2.8: query parameters are parsed as application/x-www-form-urlencoded,
 * and names and values re-encoded with that standard's percent-encode set (so `+`
 * and `%20` both become `%20`). The identifier's `name` is compared in that form.
 */
function formEncode(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9*\-._]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function queryParamValues(ctx: SignatureContext, name: string): string[] {
  const { rawQuery } = urlParts(ctx.url);
  const values: string[] = [];
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    if (formEncode(k) === name) values.push(formEncode(v));
  }
  if (values.length === 0) throw new SignatureBaseError(`query parameter "${name}" is not in the target URI`);
  return values;
}

function stringParam(id: Item, key: string): string | undefined {
  const found = id.params.find(([k]) => k === key);
  if (found === undefined) return undefined;
  if (found[1].type !== "string") throw new SignatureBaseError(`parameter ${key} must be a string`);
  return found[1].value;
}

function derivedValues(ctx: SignatureContext, name: string, id: Item): string[] {
  const allowed = name === "@query-param" ? ["name"] : [];
  for (const [key] of id.params) {
    if (!allowed.includes(key)) throw new SignatureBaseError(`unsupported parameter ;${key} on ${name}`);
  }
  switch (name) {
    case "@method":
      if (ctx.method === undefined) throw new SignatureBaseError("@method needs a request");
      return [ctx.method];
    case "@target-uri": {
      const p = urlParts(ctx.url);
      return [`${p.scheme}://${p.authority}${p.path}${p.rawQuery}`];
    }
    case "@authority":
      return [urlParts(ctx.url).authority];
    case "@scheme":
      return [urlParts(ctx.url).scheme];
    case "@request-target": {
      const p = urlParts(ctx.url);
      return [`${p.path}${p.rawQuery}`];
    }
    case "@path":
      return [urlParts(ctx.url).path];
    case "@query":
      return [urlParts(ctx.url).query];
    case "@query-param": {
      const param = stringParam(id, "name");
      if (param === undefined) throw new SignatureBaseError("@query-param needs a name parameter");
      return queryParamValues(ctx, param);
    }
    case "@status":
      if (ctx.status === undefined) throw new SignatureBaseError("@status is only valid for a response");
      return [String(ctx.status).padStart(3, "0")];
    default:
      throw new SignatureBaseError(`unknown derived component ${name}`);
  }
}

function fieldValue(ctx: SignatureContext, name: string, id: Item): string {
  for (const [key] of id.params) {
    if (key !== "key") throw new SignatureBaseError(`unsupported parameter ;${key} on "${name}"`);
  }
  // Headers.get combines repeated lines with ", " and trims each, which is
  // exactly the canonicalisation of RFC 9421 §2.1.
  const raw = ctx.headers.get(name);
  if (raw === null) throw new SignatureBaseError(`header field "${name}" is not in the message`);
  const member = stringParam(id, "key");
  if (member === undefined) return raw;
  let dict;
  try {
    dict = parseDictionary(raw);
  } catch {
    throw new SignatureBaseError(`header field "${name}" is not a structured dictionary`);
  }
  const value = dict.get(member);
  if (value === undefined) throw new SignatureBaseError(`"${name}" has no member "${member}"`);
  return serializeMember(value);
}

/** The signature base lines for one covered component (several for a repeated query parameter). */
export function componentLines(ctx: SignatureContext, id: Item): string[] {
  const name = componentName(id);
  const label = serializeItem(id);
  if (name.startsWith("@")) {
    if (!DERIVED.has(name)) throw new SignatureBaseError(`unknown derived component ${name}`);
    return derivedValues(ctx, name, id).map((v) => `${label}: ${v}`);
  }
  if (name !== name.toLowerCase() || name === "") {
    throw new SignatureBaseError(`field name "${name}" must be lower-case and not empty`);
  }
  const value = fieldValue(ctx, name, id);
  if (/[\r\n]/.test(value)) throw new SignatureBaseError(`"${name}" holds a line break`);
  return [`${label}: ${value}`];
}

/**
 * The signature base (RFC 9421 §2.5) for covered components with their
 * signature parameters, given as the parsed Signature-Input member so that the
 * `@signature-params` line is the exact re-serialisation of what was sent.
 * Throws SignatureBaseError when any component cannot be resolved.
 * `serialized` is serializeInnerList(covered) when the caller has it already.
 */
export function createSignatureBase(ctx: SignatureContext, covered: InnerList, serialized?: string): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const id of covered.items) {
    const name = componentName(id);
    if (name === "@signature-params") throw new SignatureBaseError("@signature-params must not be listed");
    const key = serializeItem(id);
    if (seen.has(key)) throw new SignatureBaseError(`component ${key} is listed twice`);
    seen.add(key);
    lines.push(...componentLines(ctx, id));
  }
  lines.push(`"@signature-params": ${serialized ?? serializeInnerList(covered)}`);
  return lines.join("\n");
}
