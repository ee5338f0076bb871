/**
 * OCI references as Margo components name them: `repository: oci://host[:port]/path` plus
 * `revision` (a tag), or a digest pinned with `@sha256:…`. The grammar is the distribution
 * spec's (src/oci/README.md): lower-case path components, tags of at most 128 characters. Nothing
 * that could smuggle a second URL in (userinfo, query, fragment, a scheme other than oci://)
 * is accepted.
 */
import { AgentError } from "../errors/index.ts";
import type { ErrorCode } from "../errors/codes.ts";

export interface OciReference {
  /** host[:port] as written, lower-cased; the key for mirrors, CAs and credentials. */
  registry: string;
  /** The repository name (`org/app`), without the registry. */
  repository: string;
  /** The tag to resolve (absent when only a digest is given). */
  tag?: string;
  /** sha256:<64 hex>: pins the manifest; wins over the tag for the request, the tag is then only checked. */
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;
/** The distribution spec caps a repository name (with the registry) at 255 characters. */
const MAX_NAME = 255;

/**
 * A component's repository and revision. `revision` may be a tag, `sha256:…`, or `tag@sha256:…`;
 * the repository may itself end in `@sha256:…` or `:tag` (then no revision is needed).
 */
export function parseComponentReference(repository: string, revision?: string, code: ErrorCode = "DEPLOYMENT_INVALID"): OciReference {
  const ref = parseOciUrl(repository, code);
  if (revision === undefined || revision === "") {
    if (!ref.tag && !ref.digest) fail(code, repository, "names no revision: give `revision` (a tag) or end the repository in @sha256:…");
    return ref;
  }
  const [tagPart, digestPart] = splitDigest(revision);
  const out: OciReference = { ...ref };
  if (SHA256_DIGEST.test(tagPart)) {
    if (digestPart !== undefined) fail(code, revision, "holds two digests");
    setDigest(out, tagPart, repository, code);
  } else {
    if (!TAG.test(tagPart)) fail(code, revision, "is not a valid OCI tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')");
    if (ref.tag !== undefined && ref.tag !== tagPart) fail(code, repository, `names tag ${ref.tag} but the revision is ${tagPart}`);
    out.tag = tagPart;
    if (digestPart !== undefined) setDigest(out, digestPart, repository, code);
  }
  return out;
}

/** `oci://host[:port]/path[:tag][@sha256:…]`, as the CLI takes it. */
export function parseOciUrl(text: string, code: ErrorCode = "DEPLOYMENT_INVALID"): OciReference {
  if (!text.startsWith("oci://")) fail(code, text, "must start with oci://");
  const rest = text.slice("oci://".length);
  if (/[?#\s\\]/.test(rest)) fail(code, text, "must not hold a query, fragment, whitespace or backslash");
  const slash = rest.indexOf("/");
  if (slash <= 0) fail(code, text, "must be oci://host[:port]/repository");
  const registry = parseRegistry(rest.slice(0, slash), text, code);
  const [pathAndTag, digest] = splitDigest(rest.slice(slash + 1));
  let path = pathAndTag;
  let tag: string | undefined;
  const lastSlash = pathAndTag.lastIndexOf("/");
  const colon = pathAndTag.indexOf(":", lastSlash + 1);
  if (colon !== -1) {
    path = pathAndTag.slice(0, colon);
    tag = pathAndTag.slice(colon + 1);
    if (!TAG.test(tag)) fail(code, text, `has the invalid tag ${JSON.stringify(tag)}`);
  }
  const components = path.split("/");
  if (path === "" || components.some((c) => !PATH_COMPONENT.test(c))) {
    fail(code, text, "has an invalid repository path (lower-case letters and digits, separated by '.', '_', '__', '-' or '/')");
  }
  if (registry.length + 1 + path.length > MAX_NAME) fail(code, text, `is longer than ${MAX_NAME} characters`);
  const ref: OciReference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) setDigest(ref, digest, text, code);
  return ref;
}

/** `oci://host/path:tag@sha256:…` (the parts present). Holds no secrets: safe for logs. */
export function formatReference(ref: OciReference): string {
  return `oci://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** What a manifest request names: the digest when pinned, else the tag. */
export function manifestReference(ref: OciReference): string {
  const r = ref.digest ?? ref.tag;
  if (!r) throw new AgentError("INTERNAL", `${formatReference(ref)}: no tag or digest`);
  return r;
}

function parseRegistry(raw: string, text: string, code: ErrorCode): string {
  if (raw.includes("@")) fail(code, text, "must not carry credentials (user@host); put them in the registry auth file");
  const host = raw.toLowerCase();
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) fail(code, text, `has an invalid registry host ${JSON.stringify(raw)}`);
  const name = m![1]!;
  if (!HOST_NAME.test(name) && !IPV6.test(name)) fail(code, text, `has an invalid registry host ${JSON.stringify(raw)}`);
  if (m![2] !== undefined) {
    const port = Number(m![2]);
    if (port < 1 || port > 65535) fail(code, text, `has an invalid port ${m![2]}`);
  }
  return host;
}

function splitDigest(s: string): [string, string | undefined] {
  const at = s.indexOf("@");
  return at === -1 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}

function setDigest(ref: OciReference, digest: string, where: string, code: ErrorCode): void {
  if (!SHA256_DIGEST.test(digest)) {
    throw new AgentError("DIGEST_UNSUPPORTED", `${where}: digest ${JSON.stringify(digest)} is not sha256:<64 lowercase hex>`, { reference: where });
  }
  if (ref.digest !== undefined && ref.digest !== digest) fail(code, where, `pins two different digests (${ref.digest} and ${digest})`);
  ref.digest = digest;
}

function fail(code: ErrorCode, what: string, why: string): never {
  throw new AgentError(code, `OCI reference ${JSON.stringify(what)} ${why}`, { reference: what });
}
