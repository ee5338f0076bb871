/**
 * The agent's side of rc3 mutual TLS (docs/identity-rc3.md, "Mutual TLS"):
 * TLS options for Bun's fetch built from the current SVID and trust bundle.
 *
 * - `cert` is the leaf and its intermediates, `key` the SVID's key;
 * - `ca` is the bundle's anchors only: an explicit `ca` replaces Bun's trust
 *   store, so no public CA can vouch for a WFM;
 * - TLS 1.2 at least (`minVersion` is the wire version number in Bun's fetch:
 *   0x0303 = TLS 1.2, 0x0304 = TLS 1.3); 1.3 is negotiated whenever the WFM
 *   offers it, which is Bun's default preference;
 * - `checkServerIdentity` replaces the hostname check: the WFM's leaf must
 *   carry exactly one URI SAN, equal to spiffe://<td>/margo/wfm/<wfm-id> taken
 *   from the agent's own SVID. Bun calls it only after the chain verified
 *   against `ca` (checked in test/integration/trust/mtls.test.ts), and a
 *   returned Error becomes the fetch's rejection, code intact.
 */
import { AgentError } from "../errors/index.ts";
import type { ClientTlsOptions } from "../platform/types.ts";
import type { TrustBundle } from "./bundle.ts";
import { parseSpiffeId, SpiffeIdError, type MargoWfmId } from "./spiffe-id.ts";
import type { Svid } from "./svid.ts";
import { leafSvidProblem, x509Facts } from "./x509-facts.ts";

export const TLS_1_2 = 0x0303;
export const TLS_1_3 = 0x0304;

/** The subset of Bun's fetch `tls` options we set (also valid for Bun.FetchSession). */
export type { ClientTlsOptions };

function mismatch(expected: MargoWfmId, why: string, hostname: string): AgentError {
  return new AgentError(
    "WFM_IDENTITY_MISMATCH",
    `the WFM at ${hostname} is not ${expected.id}: ${why}`,
    { expected: expected.id, hostname },
  );
}

/**
 * Checks a WFM's leaf certificate (DER) against the expected WFM ID. Returns
 * the error to refuse the connection with, or undefined to accept it. The
 * hostname appears in the message only; it never decides anything.
 */
export function checkWfmCertificate(expected: MargoWfmId, der: Uint8Array | undefined, hostname: string): AgentError | undefined {
  if (der === undefined || der.length === 0) return mismatch(expected, "the TLS stack gave no peer certificate to check", hostname);
  let facts;
  try {
    facts = x509Facts(der);
  } catch (err) {
    return mismatch(expected, `its certificate's extensions cannot be read (${(err as Error).message})`, hostname);
  }
  const problem = leafSvidProblem(facts);
  if (problem !== undefined) return mismatch(expected, `its certificate is not an X.509-SVID: ${problem}`, hostname);
  const uri = facts.uris[0]!;
  try {
    parseSpiffeId(uri);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    return mismatch(expected, `its URI SAN is not a SPIFFE ID (${err.message})`, hostname);
  }
  if (uri !== expected.id) return mismatch(expected, `its certificate names ${uri}`, hostname);
  return undefined;
}

export interface ClientTlsChoice {
  /** "1.2" (default: 1.3 preferred, 1.2 as fallback) or "1.3" (no fallback). */
  minTlsVersion?: "1.2" | "1.3";
}

/** Bun fetch `tls` options for talking to the WFM named by `svid`, validated by `bundle`. */
export function clientTlsOptions(svid: Svid, bundle: Pick<TrustBundle, "anchorsPem">, choice: ClientTlsChoice = {}): ClientTlsOptions {
  const expected = svid.wfm;
  const options: ClientTlsOptions = {
    cert: svid.chainPem,
    key: svid.key.reveal(),
    ca: [...bundle.anchorsPem],
    rejectUnauthorized: true,
    minVersion: choice.minTlsVersion === "1.3" ? TLS_1_3 : TLS_1_2,
    checkServerIdentity: (hostname, cert) => checkWfmCertificate(expected, cert.raw === undefined ? undefined : new Uint8Array(cert.raw), hostname),
  };
  // The key has to be a plain string for Bun; should the options object reach a log line
  // anyway (pino and console both honour these), it prints without the key.
  const redacted = () => ({ ...options, key: "[redacted]" });
  Object.defineProperty(options, "toJSON", { value: redacted, enumerable: false });
  Object.defineProperty(options, Symbol.for("nodejs.util.inspect.custom"), { value: redacted, enumerable: false });
  return options;
}
