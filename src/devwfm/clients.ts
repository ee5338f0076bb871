/**
 * Onboarded clients and their certificates. The clientId is derived from the
 * certificate thumbprint, so onboarding the same certificate twice gives the
 * same clientId (an agent that lost its answer can simply ask again).
 */
import { certificateBase64, certificateDer, certificateThumbprint, parseCertificate, publicKeyFromCertificate } from "../identity/index.ts";
import type { RsaSignatureAlgorithm } from "../identity/index.ts";
import type { SignatureAlgorithm } from "../http-signatures/index.ts";
import type { DevClient } from "./types.ts";

export interface ParsedClientCertificate {
  /** Base64 DER, the form stored. */
  base64: string;
  thumbprint: string;
}

/** Accepts what PROTOCOL.md §1 allows (base64 of DER or of PEM, or PEM); throws when it is no certificate. */
export async function readClientCertificate(text: string): Promise<ParsedClientCertificate> {
  // certificateDer("") never returns (it decodes "" to "" and asks itself again): refuse it here.
  if (text.replace(/\s+/g, "") === "") throw new Error("the certificate is empty");
  const der = certificateDer(text);
  parseCertificate(der);
  // Fails for key types no signature algorithm exists for, which a WFM could never verify.
  await publicKeyFromCertificate(certificateBase64(der));
  return { base64: certificateBase64(der), thumbprint: await certificateThumbprint(der) };
}

export function clientIdFor(thumbprint: string): string {
  return `dev-${thumbprint.slice(0, 20)}`;
}

export class ClientRegistry {
  private readonly clients = new Map<string, DevClient>();

  constructor(
    initial: readonly DevClient[],
    private readonly persist: () => void,
  ) {
    for (const c of initial) this.clients.set(c.clientId, { ...c });
  }

  all(): DevClient[] {
    return [...this.clients.values()];
  }

  get(clientId: string): DevClient | undefined {
    return this.clients.get(clientId);
  }

  /** The client a keyid names: its clientId, or (before onboarding completed) its certificate thumbprint. */
  byKeyId(keyId: string): DevClient | undefined {
    return this.clients.get(keyId) ?? this.all().find((c) => c.thumbprint !== null && c.thumbprint === keyId.toLowerCase());
  }

  /** Registers (or finds) the client for this certificate. */
  onboard(cert: ParsedClientCertificate, approved: boolean, at: string): DevClient {
    const clientId = clientIdFor(cert.thumbprint);
    const existing = this.clients.get(clientId);
    if (existing) return existing;
    const client: DevClient = { clientId, certificate: cert.base64, thumbprint: cert.thumbprint, approved, onboardedAt: at };
    this.clients.set(clientId, client);
    this.persist();
    return client;
  }

  /** False when no such client exists. */
  approve(clientId: string): boolean {
    const client = this.clients.get(clientId);
    if (!client) return false;
    if (!client.approved) {
      client.approved = true;
      this.persist();
    }
    return true;
  }
}

const keyCache = new Map<string, Promise<{ key: CryptoKey; alg: SignatureAlgorithm }>>();

/** The verification key of a stored certificate; RSA keys need the signer's padding choice. */
export function keyOf(certificateB64: string, rsaAlg?: RsaSignatureAlgorithm): Promise<{ key: CryptoKey; alg: SignatureAlgorithm }> {
  const cacheKey = `${rsaAlg ?? ""}|${certificateB64}`;
  let found = keyCache.get(cacheKey);
  if (!found) {
    found = publicKeyFromCertificate(certificateB64, rsaAlg ? { rsaAlg } : {});
    found.catch(() => keyCache.delete(cacheKey));
    keyCache.set(cacheKey, found);
  }
  return found;
}
