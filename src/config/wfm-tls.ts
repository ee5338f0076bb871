/**
 * The TLS material the WFM client trusts beside the system store: the one place
 * that reads wfm.caFile (or the trust-on-first-use copy in the data directory).
 * It is read and checked once per process, at start: `config check` and `run`
 * fail on a missing or malformed file with CA_FILE_INVALID naming it, instead of
 * a confusing error from whatever first touched it (it was read inside the code
 * that opens the store, and reported as STORE_CORRUPT). A new CA takes effect at
 * the next start.
 */
import { resolve } from "node:path";
import { AgentError } from "../errors/index.ts";
import { parseCertificate } from "../identity/certificate.ts";
import { decodePem } from "../identity/pem.ts";
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";

/** The platform's fetch options for the WFM (see Platform.fetch). */
export interface WfmTls {
  ca: string;
}

/** A system bundle is ~200 KiB; anything near this bound is not a CA file. */
export const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

const loaded = new Map<string, WfmTls>();

/** Reads and checks a PEM CA file; throws AgentError CA_FILE_INVALID naming the file and what is wrong. */
function readCaFile(path: string, key: string): WfmTls {
  const fail = (why: string) => new AgentError("CA_FILE_INVALID", `${key}: ${why}`, { key, file: path });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(path, MAX_CA_FILE_BYTES));
  } catch (err) {
    if (err instanceof FileReadError) throw fail(err.message);
    throw fail(`${path} is not UTF-8 text, so not a PEM file`);
  }
  let blocks;
  try {
    blocks = decodePem(text).filter((b) => b.label === "CERTIFICATE");
  } catch (err) {
    throw fail(`${path}: ${(err as Error).message}`);
  }
  if (blocks.length === 0) throw fail(`${path} holds no PEM "CERTIFICATE" block`);
  blocks.forEach((b, i) => {
    try {
      parseCertificate(b.der);
    } catch (err) {
      throw fail(`${path}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate: ${(err as Error).message}`);
    }
  });
  return { ca: text };
}

/**
 * The material for `caFile` (undefined for null: system store only). Read once
 * per path and process; later calls return the same object.
 */
export function loadWfmTls(caFile: string | null | undefined, key = "wfm.caFile"): WfmTls | undefined {
  if (!caFile) return undefined;
  const path = resolve(caFile);
  let tls = loaded.get(path);
  if (!tls) {
    tls = readCaFile(path, key);
    loaded.set(path, tls);
  }
  return tls;
}
