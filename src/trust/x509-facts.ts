/**
 * The X.509 facts an SVID check needs, read from the certificate's DER with
 * our own reader (src/identity/der.ts): the subject alternative names by type,
 * basicConstraints cA, and the keyUsage bits.
 *
 * Not from node:crypto's `subjectAltName` string: that is a display format
 * ("URI:a, DNS:b") whose quoting of a crafted value differs between runtimes,
 * and a URI SAN holding ", URI:spiffe://..." must never read as two names.
 * Here each GeneralName is one DER element, so counting URI SANs is exact.
 */
import { children, content, DerError, expectTag, readNode, readOid, TAG, type Node } from "../identity/der.ts";

const EXT = {
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
} as const;

export const EKU = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" } as const;

/** GeneralName tags (RFC 5280 §4.2.1.6), context-specific and implicit. */
const GN = { dNSName: 0x82, uniformResourceIdentifier: 0x86, iPAddress: 0x87 } as const;

export interface KeyUsage {
  digitalSignature: boolean;
  keyCertSign: boolean;
  cRLSign: boolean;
}

export interface X509Facts {
  /** Every URI SAN, in order (an SVID must have exactly one). */
  uris: string[];
  dnsNames: string[];
  /** IP SANs in text form (IPv4 dotted, IPv6 as eight hex groups). */
  ips: string[];
  /** basicConstraints cA; false when the extension is absent. */
  isCa: boolean;
  /** undefined when the certificate has no keyUsage extension. */
  keyUsage: KeyUsage | undefined;
  /** Extended key usage OIDs; undefined when absent. */
  extKeyUsage: string[] | undefined;
}

const latin1 = new TextDecoder("latin1");

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
    return groups.join(":");
  }
  return `(${bytes.length}-byte address)`;
}

/** The Extension nodes of a certificate, or [] when it has none. */
function extensionsOf(der: Uint8Array): Node[] {
  const cert = expectTag(readNode(der), TAG.SEQUENCE, "Certificate");
  const tbs = expectTag(children(cert)[0], TAG.SEQUENCE, "TBSCertificate");
  const wrapper = children(tbs).find((f) => f.tag === 0xa3); // [3] EXPLICIT Extensions
  if (wrapper === undefined) return [];
  return children(expectTag(children(wrapper)[0], TAG.SEQUENCE, "Extensions"));
}

/** Reads the SAN, basicConstraints, keyUsage and EKU of a DER certificate. Throws DerError when malformed. */
export function x509Facts(der: Uint8Array): X509Facts {
  const facts: X509Facts = { uris: [], dnsNames: [], ips: [], isCa: false, keyUsage: undefined, extKeyUsage: undefined };
  const seen = new Set<string>();
  for (const ext of extensionsOf(der)) {
    const parts = children(expectTag(ext, TAG.SEQUENCE, "Extension"));
    const id = readOid(expectTag(parts[0], TAG.OID, "extnID"));
    // RFC 5280 §4.2: a certificate must not carry an extension twice; a second SAN could hide a name.
    if (seen.has(id)) throw new DerError(`the certificate carries extension ${id} twice`);
    seen.add(id);
    const valueNode = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, "extnValue");
    const value = readNode(valueNode.bytes, valueNode.start);
    if (value.end !== valueNode.end) throw new DerError(`extension ${id}: trailing bytes`);
    switch (id) {
      case EXT.subjectAltName:
        for (const name of children(expectTag(value, TAG.SEQUENCE, "GeneralNames"))) {
          const text = content(name);
          if (name.tag === GN.uniformResourceIdentifier) facts.uris.push(latin1.decode(text));
          else if (name.tag === GN.dNSName) facts.dnsNames.push(latin1.decode(text));
          else if (name.tag === GN.iPAddress) facts.ips.push(ipText(text));
        }
        break;
      case EXT.basicConstraints: {
        const first = children(expectTag(value, TAG.SEQUENCE, "BasicConstraints"))[0];
        facts.isCa = first?.tag === TAG.BOOLEAN && content(first)[0] !== 0;
        break;
      }
      case EXT.keyUsage: {
        const bits = content(expectTag(value, TAG.BIT_STRING, "KeyUsage"));
        const b0 = bits[1] ?? 0;
        // Bit 0 is the most significant bit of the first octet after the unused-bits count.
        facts.keyUsage = { digitalSignature: (b0 & 0x80) !== 0, keyCertSign: (b0 & 0x04) !== 0, cRLSign: (b0 & 0x02) !== 0 };
        break;
      }
      case EXT.extKeyUsage:
        facts.extKeyUsage = children(expectTag(value, TAG.SEQUENCE, "ExtKeyUsageSyntax")).map(readOid);
        break;
    }
  }
  return facts;
}

/**
 * Why a certificate is not a valid X.509-SVID leaf (SPIFFE X.509-SVID §5.2),
 * or undefined when it is one. Returns the single SPIFFE ID text on success
 * through `facts.uris[0]`.
 */
export function leafSvidProblem(facts: X509Facts): string | undefined {
  if (facts.uris.length === 0) return "it has no URI SAN (an X.509-SVID carries its SPIFFE ID there)";
  if (facts.uris.length > 1) return `it has ${facts.uris.length} URI SANs (${facts.uris.join(", ")}); an X.509-SVID has exactly one`;
  if (facts.isCa) return "it is a CA certificate (basicConstraints cA=true); an SVID leaf must not be";
  if (facts.keyUsage?.keyCertSign) return "its keyUsage has keyCertSign, which an SVID leaf must not have";
  if (facts.keyUsage?.cRLSign) return "its keyUsage has cRLSign, which an SVID leaf must not have";
  return undefined;
}
