/**
 * A development certificate authority for one trust domain: the dev WFM and
 * the tests mint their SVIDs here, without openssl (docs/identity-rc3.md,
 * "Development CA"). Root CA (ECDSA P-256, self-signed, SPIFFE ID
 * spiffe://<td>), an optional intermediate that signs the leaves, a WFM server
 * SVID and client SVIDs.
 *
 * Never for production: the root key sits in a file on the dev WFM's host.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { encodePem } from "../identity/pem.ts";
import { toPem } from "./chain.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";
import { SecretText } from "./secret.ts";
import { clientSpiffeId, trustDomainId, wfmSpiffeId, trustDomainProblem, type MargoClientId, type MargoWfmId } from "./spiffe-id.ts";
import { x509Facts } from "./x509-facts.ts";
import { issueCertificate, type Issued } from "./x509-issue.ts";

const DAY_MS = 24 * 3600_000;
/** Leaf notBefore is backdated by this much, so a peer whose clock is slightly behind accepts it. */
const BACKDATE_MS = 5 * 60_000;

export interface SvidMaterial {
  spiffeId: string;
  /** Leaf then intermediates (PEM), as identity.certFile holds it. */
  chainPem: string;
  key: SecretText;
  leaf: X509Certificate;
}

export interface IssueOptions {
  /** Default 30 days. */
  validityMs?: number;
  /** Default: now. */
  now?: number;
  /** Extra SANs (the WFM's server names). */
  dnsNames?: string[];
  ips?: string[];
  /**
   * Test hooks for refusal tests: put these URI SANs in place of the one
   * SPIFFE ID (two, none, a WFM-form ID on a client SVID, a CA leaf).
   */
  uris?: string[];
  ca?: boolean;
}

export interface DevCaOptions {
  trustDomain: string;
  /** Sign leaves through an intermediate CA (as production CAs do). Default true. */
  intermediate?: boolean;
  /** Root validity, default 10 years. */
  validityMs?: number;
  now?: number;
}

const keyPem = (key: KeyObject): string => key.export({ type: "pkcs8", format: "pem" }).toString();

export class DevCa {
  private constructor(
    readonly trustDomain: string,
    private readonly root: Issued,
    private readonly intermediate: Issued | undefined,
  ) {}

  /** A new CA in memory. */
  static create(opts: DevCaOptions): DevCa {
    const problem = trustDomainProblem(opts.trustDomain);
    if (problem !== undefined) throw new Error(`dev CA: ${problem}`);
    const now = opts.now ?? Date.now();
    const notBefore = new Date(now - BACKDATE_MS);
    const notAfter = new Date(now + (opts.validityMs ?? 3650 * DAY_MS));
    const root = issueCertificate({
      commonName: `${opts.trustDomain} development root CA`,
      uris: [trustDomainId(opts.trustDomain).id],
      ca: true,
      notBefore,
      notAfter,
    });
    const intermediate =
      opts.intermediate === false
        ? undefined
        : issueCertificate(
            { commonName: `${opts.trustDomain} development intermediate CA`, uris: [trustDomainId(opts.trustDomain).id], ca: true, pathLength: 0, notBefore, notAfter },
            root,
          );
    return new DevCa(opts.trustDomain, root, intermediate);
  }

  /**
   * The CA kept in `dir` (created on first use): ca-key.pem (0600),
   * ca-cert.pem, and intermediate-key.pem / intermediate-cert.pem when used.
   */
  static async loadOrCreate(dir: string, opts: DevCaOptions): Promise<DevCa> {
    const paths = {
      rootKey: join(dir, "ca-key.pem"),
      rootCert: join(dir, "ca-cert.pem"),
      interKey: join(dir, "intermediate-key.pem"),
      interCert: join(dir, "intermediate-cert.pem"),
    };
    const exists = await stat(paths.rootCert).then(() => true, () => false);
    if (exists) {
      const read = async (cert: string, key: string): Promise<Issued> => ({
        der: new Uint8Array(new X509Certificate(await readFile(cert)).raw),
        key: createPrivateKey(await readFile(key, "utf8")),
      });
      const root = await read(paths.rootCert, paths.rootKey);
      const hasInter = await stat(paths.interCert).then(() => true, () => false);
      const inter = hasInter ? await read(paths.interCert, paths.interKey) : undefined;
      const td = x509Facts(root.der).uris[0]?.replace(/^spiffe:\/\//, "");
      if (td !== opts.trustDomain) {
        throw new Error(`dev CA in ${dir} is for trust domain ${td ?? "(unknown)"}, not ${opts.trustDomain}; use another directory`);
      }
      return new DevCa(opts.trustDomain, root, inter);
    }
    const ca = DevCa.create(opts);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Keys first: a crash before the certificate is written leaves no CA, so the next start makes a new one.
    await writeFileAtomic(paths.rootKey, keyPem(ca.root.key), 0o600);
    if (ca.intermediate) {
      await writeFileAtomic(paths.interKey, keyPem(ca.intermediate.key), 0o600);
      await writeFileAtomic(paths.interCert, encodePem("CERTIFICATE", ca.intermediate.der), 0o644);
    }
    await writeFileAtomic(paths.rootCert, encodePem("CERTIFICATE", ca.root.der), 0o644);
    return ca;
  }

  /** The trust anchor (the root), PEM: what `wfm.caFile` may hold. */
  get anchorPem(): string {
    return encodePem("CERTIFICATE", this.root.der);
  }

  get anchor(): X509Certificate {
    return new X509Certificate(this.root.der);
  }

  /**
   * The SPIFFE bundle (a JWK set) for this trust domain: one x509-svid entry
   * holding the root in x5c (X.509-SVID §6.1: no kid, exactly one certificate).
   */
  spiffeBundle(opts: { sequence?: number; refreshHintSeconds?: number; extraAnchors?: X509Certificate[] } = {}): Record<string, unknown> {
    const anchors = [this.anchor, ...(opts.extraAnchors ?? [])];
    return {
      ...(opts.sequence === undefined ? {} : { spiffe_sequence: opts.sequence }),
      ...(opts.refreshHintSeconds === undefined ? {} : { spiffe_refresh_hint: opts.refreshHintSeconds }),
      keys: anchors.map((cert) => ({ ...jwkOf(cert), use: "x509-svid", x5c: [Buffer.from(cert.raw).toString("base64")] })),
    };
  }

  /** The WFM's server SVID: URI SAN spiffe://<td>/margo/wfm/<wfm-id>, plus localhost names by default. */
  issueWfmSvid(wfmId: string, opts: IssueOptions = {}): SvidMaterial {
    const id: MargoWfmId = wfmSpiffeId(this.trustDomain, wfmId);
    return this.issue(`WFM ${wfmId}`, id.id, { dnsNames: ["localhost"], ips: ["127.0.0.1", "::1"], ...opts });
  }

  /** A client SVID: URI SAN spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>. */
  issueClientSvid(wfmId: string, clientId: string, opts: IssueOptions = {}): SvidMaterial {
    const id: MargoClientId = clientSpiffeId(this.trustDomain, wfmId, clientId);
    return this.issue(`client ${clientId}`, id.id, opts);
  }

  private issue(commonName: string, spiffeId: string, opts: IssueOptions): SvidMaterial {
    const now = opts.now ?? Date.now();
    const signer = this.intermediate ?? this.root;
    const leaf = issueCertificate(
      {
        commonName,
        uris: opts.uris ?? [spiffeId],
        dnsNames: opts.dnsNames,
        ips: opts.ips,
        ca: opts.ca ?? false,
        notBefore: new Date(now - BACKDATE_MS),
        notAfter: new Date(now + (opts.validityMs ?? 30 * DAY_MS)),
      },
      signer,
    );
    const chain = [leaf.der, ...(this.intermediate ? [this.intermediate.der] : [])];
    return {
      spiffeId,
      chainPem: chain.map((der) => toPem(new X509Certificate(der))).join(""),
      key: new SecretText(keyPem(leaf.key)),
      leaf: new X509Certificate(leaf.der),
    };
  }
}

function jwkOf(cert: X509Certificate): Record<string, unknown> {
  const { kty, crv, x, y, n, e } = cert.publicKey.export({ format: "jwk" });
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
}

/**
 * Writes an SVID where identity.certFile / identity.keyFile point: the chain
 * 0644, the key 0600 (atomically, so a running agent's watcher never sees
 * half a file). Returns the two paths.
 */
export async function writeSvidFiles(dir: string, svid: SvidMaterial, names = { cert: "svid.pem", key: "svid-key.pem" }): Promise<{ certFile: string; keyFile: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, names.cert);
  const keyFile = join(dir, names.key);
  // Key first: between the two renames the watcher sees a new key with the old
  // certificate, refuses the pair (key mismatch) and keeps the old SVID.
  await writeFileAtomic(keyFile, svid.key.reveal(), 0o600);
  await writeFileAtomic(certFile, svid.chainPem, 0o644);
  return { certFile, keyFile };
}
