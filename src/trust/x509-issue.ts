/**
 * Writing X.509-SVIDs and their CA certificates (RFC 5280, SPIFFE X.509-SVID
 * §4) with our own DER encoder, so the dev WFM can mint identities on a device
 * with no openssl. ECDSA P-256 with SHA-256 throughout (the algorithm every
 * Margo component must implement). Signing and key generation use node:crypto
 * (synchronous, available in Bun, Node and Deno).
 *
 * The layouts are fixed on purpose (a CA, or a leaf usable as TLS client and
 * server); tests check every output with OpenSSL's parser (node:crypto's
 * X509Certificate) and with real TLS handshakes.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import {
  bitString,
  boolean,
  children,
  content,
  encoded,
  expectTag,
  explicit,
  octetString,
  oid,
  readNode,
  sequence,
  set,
  smallInteger,
  TAG,
  time,
  tlv,
  unsignedInteger,
  utf8String,
} from "../identity/der.ts";
import { OID } from "../identity/keys.ts";
import { EKU } from "./x509-facts.ts";

const EXT = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;

/** A certificate with the key that can sign for it (a CA) or that it certifies (a leaf). */
export interface Issued {
  der: Uint8Array;
  key: KeyObject;
}

export interface CertificateRequest {
  commonName: string;
  /** SAN entries; URIs first (an SVID has exactly one). */
  uris?: string[];
  dnsNames?: string[];
  ips?: string[];
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  /** For a CA: basicConstraints pathLenConstraint. */
  pathLength?: number;
  /** The subject's key; generated (P-256) when absent. */
  key?: KeyObject;
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function name(commonName: string): Uint8Array {
  return sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split(".").map(Number));
  if (isIP(ip) === 6) {
    const [head = "", tail = ""] = ip.includes("::") ? ip.split("::") : [ip, ""];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const n = Number.parseInt(g, 16);
      out[i * 2] = n >> 8;
      out[i * 2 + 1] = n & 0xff;
    });
    return out;
  }
  throw new Error(`"${ip}" is not an IP address`);
}

function subjectAltName(req: CertificateRequest): Uint8Array | undefined {
  const enc = new TextEncoder();
  const names = [
    ...(req.uris ?? []).map((u) => tlv(0x86, enc.encode(u))),
    ...(req.dnsNames ?? []).map((d) => tlv(0x82, enc.encode(d))),
    ...(req.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  return names.length === 0 ? undefined : sequence(...names);
}

export function spkiDer(key: KeyObject): Uint8Array {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: "spki", format: "der" }));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Uint8Array): Uint8Array {
  const bits = expectTag(children(readNode(spki))[1], TAG.BIT_STRING, "subjectPublicKey");
  return new Uint8Array(createHash("sha1").update(content(bits).subarray(1)).digest());
}

/** The subject Name DER of a certificate (to use as the issuer of what it signs). */
function subjectOf(der: Uint8Array): Uint8Array {
  const tbs = children(readNode(der))[0]!;
  const fields = children(tbs);
  if (fields[0]?.tag === 0xa0) fields.shift();
  return encoded(fields[4]!);
}

export function generateP256(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

/**
 * Issues a certificate for `req`, signed by `issuer` (or self-signed when
 * `issuer` is absent, which only a CA may be).
 */
export function issueCertificate(req: CertificateRequest, issuer?: Issued): Issued {
  if (issuer === undefined && !req.ca) throw new Error("only a CA certificate can be self-signed here");
  const key = req.key ?? generateP256();
  const spki = spkiDer(key);
  const signerKey = issuer?.key ?? key;
  const issuerName = issuer ? subjectOf(issuer.der) : name(req.commonName);
  const authorityKeyId = keyIdentifier(issuer ? spkiDer(issuer.key) : spki);
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40; // positive, always 16 bytes
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));

  const exts: Uint8Array[] = [];
  if (req.ca) {
    const pathLen = req.pathLength === undefined ? [] : [smallInteger(req.pathLength)];
    exts.push(extension(EXT.basicConstraints, true, sequence(boolean(true), ...pathLen)));
    // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, one unused bit.
    exts.push(extension(EXT.keyUsage, true, tlv(TAG.BIT_STRING, Uint8Array.of(1, 0x06))));
  } else {
    exts.push(extension(EXT.basicConstraints, true, sequence()));
    // digitalSignature (bit 0) only.
    exts.push(extension(EXT.keyUsage, true, tlv(TAG.BIT_STRING, Uint8Array.of(7, 0x80))));
    // SPIFFE X.509-SVID §4.4: when present, both serverAuth and clientAuth.
    exts.push(extension(EXT.extKeyUsage, false, sequence(oid(EKU.serverAuth), oid(EKU.clientAuth))));
  }
  exts.push(extension(EXT.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))));
  exts.push(extension(EXT.authorityKeyIdentifier, false, sequence(tlv(0x80, authorityKeyId))));
  const san = subjectAltName(req);
  if (san !== undefined) exts.push(extension(EXT.subjectAltName, false, san));

  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    signatureAlgorithm,
    issuerName,
    sequence(time(req.notBefore), time(req.notAfter)),
    name(req.commonName),
    spki,
    explicit(3, sequence(...exts)),
  );
  const signature = new Uint8Array(sign("sha256", tbs, signerKey)); // DER Ecdsa-Sig-Value for EC keys
  return { der: sequence(tbs, signatureAlgorithm, bitString(signature)), key };
}
