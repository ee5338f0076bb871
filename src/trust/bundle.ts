/**
 * Trust bundles (docs/identity-rc3.md, "Trust bundle"): the X.509 anchors
 * that validate SVIDs in one trust domain. Read from PEM (one or more
 * CERTIFICATE blocks, e.g. `wfm.caFile`) or from a SPIFFE bundle (a JWK set):
 * only `use: "x509-svid"` entries count, each anchor is the first certificate
 * of its `x5c`; `jwt-svid` and unknown entries are ignored. A bundle with no
 * X.509 anchor is refused (fail closed), as is one whose x509-svid entry is
 * not a CA certificate: a broken bundle must not replace a working one.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { decodePem } from "../identity/pem.ts";
import { parseJsonExact } from "../protocol/exact-json.ts";
import { describe, toPem } from "./chain.ts";

/** More anchors than this is not a trust bundle but a mistake (or an attack on memory). */
export const MAX_ANCHORS = 64;
export const MAX_KEYS = 256;

export interface TrustBundle {
  /** Deduplicated, in the order given. Never empty. */
  readonly anchors: readonly X509Certificate[];
  /** The anchors as PEM, for TLS `ca`. */
  readonly anchorsPem: readonly string[];
  /** spiffe_sequence (exact, may exceed 2^53); undefined for PEM or when absent. */
  readonly sequence: bigint | undefined;
  /** spiffe_refresh_hint in seconds; undefined when absent or unusable. */
  readonly refreshHintSeconds: number | undefined;
  readonly format: "pem" | "spiffe";
  /** SHA-256 over the sorted anchor fingerprints: equal sets of anchors, equal id. */
  readonly anchorSetId: string;
  /** Things worth a log line that did not make the bundle invalid (ignored entries, a bad hint). */
  readonly notes: readonly string[];
}

function invalid(message: string, where: string): AgentError {
  return new AgentError("TRUST_BUNDLE_INVALID", `${where}: ${message}`, { where });
}

const nonNegativeInteger = v.union([
  v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  v.pipe(v.bigint(), v.minValue(0n)),
]);

/** The SPIFFE bundle envelope; key entries are checked one by one below (unknown ones are ignored, not errors). */
const SpiffeBundleSchema = v.looseObject({
  keys: v.pipe(v.array(v.unknown()), v.maxLength(MAX_KEYS, `more than ${MAX_KEYS} keys`)),
  spiffe_sequence: v.optional(nonNegativeInteger),
  spiffe_refresh_hint: v.optional(v.unknown()),
});

const X509KeySchema = v.looseObject({
  kty: v.string(),
  use: v.literal("x509-svid"),
  x5c: v.optional(v.array(v.unknown())),
});

function anchorSetId(anchors: X509Certificate[]): string {
  const prints = anchors.map((a) => a.fingerprint256).sort();
  return createHash("sha256").update(prints.join("\n")).digest("hex");
}

function finish(
  certs: X509Certificate[],
  where: string,
  rest: Pick<TrustBundle, "sequence" | "refreshHintSeconds" | "format">,
  notes: string[],
): TrustBundle {
  const seen = new Set<string>();
  const anchors = certs.filter((c) => !seen.has(c.fingerprint256) && seen.add(c.fingerprint256));
  if (anchors.length === 0) throw invalid("holds no X.509 trust anchor; refusing to validate SVIDs against an empty set", where);
  if (anchors.length > MAX_ANCHORS) throw invalid(`holds ${anchors.length} anchors; at most ${MAX_ANCHORS} are accepted`, where);
  for (const anchor of anchors) {
    if (!anchor.ca) throw invalid(`anchor ${describe(anchor)} is not a CA certificate (basicConstraints cA=false)`, where);
  }
  return { ...rest, anchors, anchorsPem: anchors.map(toPem), anchorSetId: anchorSetId(anchors), notes };
}

function parsePem(text: string, where: string): TrustBundle {
  let blocks;
  try {
    blocks = decodePem(text);
  } catch (err) {
    throw invalid(`is not valid PEM: ${(err as Error).message}`, where);
  }
  // A cut-off last block would silently drop an anchor (a file still being written).
  const begun = text.match(/-----BEGIN [A-Z0-9 ]+-----/g)?.length ?? 0;
  if (begun !== blocks.length) throw invalid("ends inside a PEM block (still being written?)", where);
  const certs = blocks
    .filter((b) => b.label === "CERTIFICATE")
    .map((b, i) => {
      try {
        return new X509Certificate(b.der);
      } catch (err) {
        throw invalid(`certificate ${i + 1} cannot be parsed: ${(err as Error).message}`, where);
      }
    });
  return finish(certs, where, { sequence: undefined, refreshHintSeconds: undefined, format: "pem" }, []);
}

function parseSpiffe(text: string, where: string): TrustBundle {
  let json: unknown;
  try {
    json = parseJsonExact(text);
  } catch (err) {
    throw invalid(`is not valid JSON: ${(err as Error).message}`, where);
  }
  const envelope = v.safeParse(SpiffeBundleSchema, json);
  if (!envelope.success) {
    const issue = envelope.issues[0];
    const path = issue.path?.map((p) => String(p.key)).join(".") || "(top level)";
    throw invalid(`is not a SPIFFE bundle: ${path}: ${issue.message}`, where);
  }
  const notes: string[] = [];
  const certs: X509Certificate[] = [];
  envelope.output.keys.forEach((entry, i) => {
    const key = v.safeParse(X509KeySchema, entry);
    // jwt-svid, unknown uses, entries without kty: ignored (SPIFFE bundle §4.1.3, §4.2).
    if (!key.success) return;
    const x5c = key.output.x5c;
    // X.509-SVID §6.2: no x5c, or an empty one, means the entry is ignored; beyond the first, values are ignored.
    if (x5c === undefined || x5c.length === 0) {
      notes.push(`keys[${i}] (x509-svid) has no x5c; ignored`);
      return;
    }
    const first = x5c[0];
    if (typeof first !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(first)) {
      throw invalid(`keys[${i}].x5c[0] is not base64`, where);
    }
    try {
      certs.push(new X509Certificate(Buffer.from(first, "base64")));
    } catch (err) {
      throw invalid(`keys[${i}].x5c[0] is not an X.509 certificate: ${(err as Error).message}`, where);
    }
  });
  const hint = envelope.output.spiffe_refresh_hint;
  let refreshHintSeconds: number | undefined;
  // parseJsonExact gives integer literals as bigint (docs/protocol.md §4); a hint is seconds, far below 2^53.
  if (typeof hint === "bigint" && hint >= 0n && hint <= BigInt(Number.MAX_SAFE_INTEGER)) refreshHintSeconds = Number(hint);
  else if (typeof hint === "number" && Number.isSafeInteger(hint) && hint >= 0) refreshHintSeconds = hint;
  // A hint is advice; a malformed one falls back to the configured interval rather than refusing good anchors.
  else if (hint !== undefined) notes.push(`spiffe_refresh_hint ${JSON.stringify(String(hint))} is not a whole number of seconds; ignored`);
  const seq = envelope.output.spiffe_sequence;
  return finish(certs, where, { sequence: seq === undefined ? undefined : BigInt(seq), refreshHintSeconds, format: "spiffe" }, notes);
}

/**
 * Parses a trust bundle from text: a SPIFFE bundle when it is a JSON object,
 * PEM otherwise. `where` names the source in messages (a file, a URL).
 * Throws AgentError TRUST_BUNDLE_INVALID.
 */
export function parseTrustBundle(text: string, where: string): TrustBundle {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) return parseSpiffe(trimmed, where);
  if (trimmed.includes("-----BEGIN")) return parsePem(trimmed, where);
  throw invalid("is neither a SPIFFE bundle (JSON) nor PEM certificates", where);
}

/** A bundle from anchors already in hand (the persisted cache, tests). */
export function bundleFromAnchors(
  anchors: X509Certificate[],
  rest: Pick<TrustBundle, "sequence" | "refreshHintSeconds" | "format">,
  where: string,
): TrustBundle {
  return finish(anchors, where, rest, []);
}
