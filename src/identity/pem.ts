/** PEM armour (RFC 7468): label plus base64 DER, 64 characters a line. */
import { base64ToBytes, bytesToBase64 } from "../http-signatures/base64.ts";

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in the text, in order. Text outside the blocks (comments) is ignored. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1] ?? "";
    const body = (match[2] ?? "").replace(/\s+/g, "");
    // Encapsulated headers ("Proc-Type: 4,ENCRYPTED") mean legacy OpenSSL encryption.
    if (body.includes(":")) throw new Error(`PEM block "${label}" has headers (encrypted?); not supported`);
    blocks.push({ label, der: base64ToBytes(body) });
  }
  return blocks;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
