/**
 * The WFM's root CA (docs/protocol.md §1.2). Normally provisioned (wfm.caFile) or in
 * the system store. Only with wfm.trustOnFirstUse does the agent download it from
 * `GET /api/v1/onboarding/certificate`, unsigned and without verifying the TLS
 * peer (there is nothing to verify it with yet): whoever answers that one request
 * is trusted from then on. That is a deliberate, logged risk; the CA is kept in
 * the data directory so it happens once per device, never again.
 */
import { existsSync } from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { AgentError } from "../errors/index.ts";
import { base64ToBytes } from "../http-signatures/base64.ts";
import { certificatePem, certificateThumbprint, parseCertificate } from "../identity/certificate.ts";
import { decodePem } from "../identity/pem.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { readBounded, readPrefix } from "../protocol/read-body.ts";

export const ROOT_CA_PATH = "/api/v1/onboarding/certificate";
export const TOFU_CA_FILE = "wfm-root-ca.pem";

/** Every certificate in "<base64 PEM or DER>" (or plain PEM), as DER. Throws on anything else. */
export function certificatesFrom(text: string): Uint8Array[] {
  const trimmed = text.trim();
  if (trimmed.includes("-----BEGIN")) {
    const ders = decodePem(trimmed).filter((b) => b.label === "CERTIFICATE").map((b) => b.der);
    if (ders.length === 0) throw new Error("no CERTIFICATE block in the PEM text");
    for (const der of ders) parseCertificate(der);
    return ders;
  }
  const bytes = base64ToBytes(trimmed.replace(/\s+/g, ""));
  if (bytes.length === 0) throw new Error("the certificate is empty");
  if (bytes[0] === 0x30) {
    parseCertificate(bytes);
    return [bytes];
  }
  const inner = new TextDecoder().decode(bytes);
  if (!inner.includes("-----BEGIN")) throw new Error("the certificate is neither base64 DER nor base64 PEM");
  return certificatesFrom(inner);
}

async function writeAtomically(path: string, data: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path).catch(async (err) => {
    await unlink(tmp).catch(() => undefined);
    throw err;
  });
}

export interface TrustOptions {
  config: Config;
  platform: Platform;
  log: Logger;
}

/**
 * The CA file the WFM client must trust beside the system store: wfm.caFile when
 * set; else, with trustOnFirstUse, the downloaded one (fetched now if this is the
 * first use); else null. Throws WFM_UNREACHABLE / WFM_HTTP_ERROR when the first
 * download fails: without the CA nothing else can reach the WFM either.
 */
export async function ensureTrustedCa(opts: TrustOptions): Promise<string | null> {
  const { config, platform, log } = opts;
  if (config.wfm.caFile) return config.wfm.caFile;
  if (!config.wfm.trustOnFirstUse) return null;
  const file = join(config.dataDir, TOFU_CA_FILE);
  if (existsSync(file)) return file;

  const url = `${config.wfm.url.replace(/\/+$/, "")}${ROOT_CA_PATH}`;
  const what = `GET ${url}`;
  let res: Response;
  try {
    // This single request accepts any server certificate, which is what trust on
    // first use means. Everything after it verifies against the CA it returns.
    res = await platform.fetch(
      url,
      { method: "GET", headers: { accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(config.wfm.requestTimeout) },
      { insecure: true },
    );
  } catch (err) {
    const e = err as Error;
    throw new AgentError("WFM_UNREACHABLE", `trustOnFirstUse: ${what}: ${(e.cause as Error | undefined)?.message ?? e.message}`, { url });
  }
  if (res.status !== 200) {
    const { text } = await readPrefix(res);
    throw new AgentError("WFM_HTTP_ERROR", `trustOnFirstUse: ${what}: ${res.status} ${text.slice(0, 200)}`, { status: res.status, url });
  }
  const text = new TextDecoder().decode(await readBounded(res, 256 * 1024, what));
  let ders: Uint8Array[];
  try {
    const body = JSON.parse(text) as { certificate?: unknown };
    if (typeof body.certificate !== "string") throw new Error('no "certificate" string in the body');
    ders = certificatesFrom(body.certificate);
  } catch (err) {
    throw new AgentError("WFM_HTTP_ERROR", `trustOnFirstUse: ${what}: not a usable root CA: ${(err as Error).message}`, { status: res.status, url });
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  await writeAtomically(file, ders.map(certificatePem).join(""));
  const thumbprints = await Promise.all(ders.map(certificateThumbprint));
  log.warn(
    { file, url, sha256: thumbprints },
    "trustOnFirstUse: trusting the root CA the WFM served WITHOUT verifying it; compare its SHA-256 with the WFM operator's out of band",
  );
  return file;
}
