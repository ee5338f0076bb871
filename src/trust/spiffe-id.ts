/**
 * SPIFFE IDs (the SPIFFE ID standard) and the two Margo forms built on them
 * (docs/identity-rc3.md, "Names"):
 *
 *   spiffe://<trust-domain>/margo/wfm/<wfm-id>                       the WFM
 *   spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<client-id>    a WFM client (this agent)
 *
 * Parsing is strict and by hand, not through `new URL()`: a URL parser
 * normalises (lower-cases, resolves `..`, decodes percent escapes), and an
 * identity compared after normalisation is not the identity that was signed.
 * Every comparison of SPIFFE IDs is exact and case-sensitive.
 */

const SCHEME = "spiffe://";
/** SPIFFE ID §2.3: implementations must support 2048 bytes; we refuse longer. */
export const MAX_SPIFFE_ID_LENGTH = 2048;
/** SPIFFE ID §2.3: the trust domain is a URI host, at most 255 bytes. */
export const MAX_TRUST_DOMAIN_LENGTH = 255;

const TRUST_DOMAIN_CHAR = /^[a-z0-9._-]+$/;
const SEGMENT_CHAR = /^[A-Za-z0-9._-]+$/;

export class SpiffeIdError extends Error {
  override readonly name = "SpiffeIdError";
}

export interface SpiffeId {
  /** The whole ID, exactly as given (it is already canonical when it parses). */
  readonly id: string;
  readonly trustDomain: string;
  /** The path segments; empty for a trust-domain ID (`spiffe://td`). */
  readonly segments: readonly string[];
}

/** Why a trust domain name is invalid, or undefined when it is valid. */
export function trustDomainProblem(td: string): string | undefined {
  if (td === "") return "the trust domain is empty";
  if (td.length > MAX_TRUST_DOMAIN_LENGTH) return `the trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} characters`;
  if (td.includes(":")) return "the trust domain carries a port (or a ':'), which SPIFFE forbids";
  if (td.includes("@")) return "the trust domain carries userinfo ('@'), which SPIFFE forbids";
  if (!TRUST_DOMAIN_CHAR.test(td)) return `the trust domain "${td}" may hold only lower-case letters, digits, '.', '-' and '_'`;
  return undefined;
}

/** Why a path segment (a wfm-id, a client-id) is invalid, or undefined when it is valid. */
export function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "a path segment is empty";
  if (segment === "." || segment === "..") return `the path segment "${segment}" is not allowed`;
  if (!SEGMENT_CHAR.test(segment)) return `the path segment "${segment}" may hold only letters, digits, '.', '-' and '_'`;
  return undefined;
}

/** Parses a SPIFFE ID. Throws SpiffeIdError saying exactly what is wrong. */
export function parseSpiffeId(text: string): SpiffeId {
  if (text.length > MAX_SPIFFE_ID_LENGTH) throw new SpiffeIdError(`SPIFFE ID is longer than ${MAX_SPIFFE_ID_LENGTH} bytes`);
  // The scheme is compared as written: "SPIFFE://" is refused rather than folded.
  if (!text.startsWith(SCHEME)) throw new SpiffeIdError(`"${shorten(text)}" is not a SPIFFE ID: it must start with "spiffe://"`);
  const rest = text.slice(SCHEME.length);
  if (rest.includes("?")) throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" has a query, which SPIFFE forbids`);
  if (rest.includes("#")) throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" has a fragment, which SPIFFE forbids`);
  if (rest.includes("%")) throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" has a percent-encoding, which SPIFFE forbids`);
  const slash = rest.indexOf("/");
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}": ${tdProblem}`);
  if (slash === -1) return { id: text, trustDomain, segments: [] };
  const path = rest.slice(slash + 1);
  if (path === "") throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" ends with '/', which SPIFFE forbids`);
  const segments = path.split("/");
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}": ${problem}`);
  }
  return { id: text, trustDomain, segments };
}

export interface MargoWfmId extends SpiffeId {
  readonly kind: "wfm";
  readonly wfmId: string;
}

export interface MargoClientId extends SpiffeId {
  readonly kind: "client";
  readonly wfmId: string;
  readonly clientId: string;
}

export type MargoId = MargoWfmId | MargoClientId;

const CLIENT_FORM = "spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<client-id>";
const WFM_FORM = "spiffe://<trust-domain>/margo/wfm/<wfm-id>";

/** Either Margo form, or undefined when the ID has neither shape (it may still be a valid SPIFFE ID). */
export function asMargoId(id: SpiffeId): MargoId | undefined {
  const s = id.segments;
  if (s[0] !== "margo" || s[1] !== "wfm" || s[2] === undefined) return undefined;
  if (s.length === 3) return { ...id, kind: "wfm", wfmId: s[2] };
  if (s.length === 5 && s[3] === "client" && s[4] !== undefined) return { ...id, kind: "client", wfmId: s[2], clientId: s[4] };
  return undefined;
}

/** A WFM client ID (this agent's form). Throws SpiffeIdError naming the expected form. */
export function parseClientId(text: string): MargoClientId {
  const margo = asMargoId(parseSpiffeId(text));
  if (margo?.kind === "client") return margo;
  const what = margo?.kind === "wfm" ? "a WFM's ID, not a client's" : "not of the Margo client form";
  throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" is ${what}: expected ${CLIENT_FORM}`);
}

/** A WFM ID. Throws SpiffeIdError naming the expected form. */
export function parseWfmId(text: string): MargoWfmId {
  const margo = asMargoId(parseSpiffeId(text));
  if (margo?.kind === "wfm") return margo;
  const what = margo?.kind === "client" ? "a client's ID, not a WFM's" : "not of the Margo WFM form";
  throw new SpiffeIdError(`SPIFFE ID "${shorten(text)}" is ${what}: expected ${WFM_FORM}`);
}

/** The WFM a client belongs to: same trust domain, same wfm-id (WFM identity profile, "Recognition by the WFM Client"). */
export function expectedWfmId(client: MargoClientId): MargoWfmId {
  return wfmSpiffeId(client.trustDomain, client.wfmId);
}

function checkPart(what: string, value: string): void {
  const problem = what === "trust domain" ? trustDomainProblem(value) : segmentProblem(value);
  // Checked one by one, so "a/b" as a wfm-id is an invalid wfm-id, not two path segments.
  if (problem !== undefined) throw new SpiffeIdError(`${what} "${shorten(value)}": ${problem}`);
}

/** Builds (and so validates) `spiffe://<td>/margo/wfm/<wfm-id>`. */
export function wfmSpiffeId(trustDomain: string, wfmId: string): MargoWfmId {
  checkPart("trust domain", trustDomain);
  checkPart("wfm-id", wfmId);
  return parseWfmId(`${SCHEME}${trustDomain}/margo/wfm/${wfmId}`);
}

/** Builds (and so validates) `spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>`. */
export function clientSpiffeId(trustDomain: string, wfmId: string, clientId: string): MargoClientId {
  checkPart("trust domain", trustDomain);
  checkPart("wfm-id", wfmId);
  checkPart("client-id", clientId);
  return parseClientId(`${SCHEME}${trustDomain}/margo/wfm/${wfmId}/client/${clientId}`);
}

/** The trust domain's own ID (`spiffe://<td>`), which a signing certificate may carry. */
export function trustDomainId(trustDomain: string): SpiffeId {
  return parseSpiffeId(`${SCHEME}${trustDomain}`);
}

/** True when `client` is in the namespace of `wfm`: the check a WFM makes on every connection. */
export function isClientOf(client: MargoClientId, wfm: MargoWfmId): boolean {
  return client.trustDomain === wfm.trustDomain && client.wfmId === wfm.wfmId;
}

/** Error messages quote the offending value, but never more than a line of it. */
function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
