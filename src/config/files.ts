/**
 * The files a configuration names, checked the way `run` will use them: they
 * exist, are regular files we can read, and parse where that is cheap (PEM).
 * `config check` and `run` both call this after loadConfig, so a missing CA
 * fails both, each file under its own code (CA_FILE_INVALID, IDENTITY_INVALID),
 * instead of passing the check and then failing the start under a misleading one.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { ErrorCode } from "../errors/codes.ts";
import { AgentError } from "../errors/index.ts";
import { certificateDer, parseCertificate } from "../identity/certificate.ts";
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE } from "../identity/load-or-create.ts";
import { decodePem } from "../identity/pem.ts";
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";
import type { Config } from "./schema.ts";
import { loadWfmTls } from "./wfm-tls.ts";
import { gitFileProblems } from "./git-rules.ts";

export interface FileProblem {
  code: ErrorCode;
  key: string;
  message: string;
}

const MAX_IDENTITY_FILE_BYTES = 256 * 1024;

function pemText(path: string): string {
  return new TextDecoder().decode(readRegularFile(path, MAX_IDENTITY_FILE_BYTES));
}

/** Never quotes the file's content: a key file's bytes must not reach a log or a terminal. */
function checkKeyFile(path: string): string | undefined {
  try {
    const blocks = decodePem(pemText(path));
    if (!blocks.some((b) => /(^| )PRIVATE KEY$/.test(b.label))) return `${path} holds no PEM "PRIVATE KEY" block`;
  } catch (err) {
    return err instanceof FileReadError ? err.message : `${path} is not a PEM file: ${(err as Error).message}`;
  }
  return undefined;
}

function checkCertFile(path: string): string | undefined {
  try {
    parseCertificate(certificateDer(pemText(path)));
  } catch (err) {
    return err instanceof FileReadError ? err.message : `${path} is not a PEM certificate: ${(err as Error).message}`;
  }
  return undefined;
}

export function configFileProblems(config: Config): FileProblem[] {
  const problems: FileProblem[] = [];
  try {
    loadWfmTls(config.wfm.caFile);
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    problems.push({ code: err.code, key: "wfm.caFile", message: err.message.replace(/^wfm\.caFile: /, "") });
  }
  // As src/identity/load-or-create.ts reads them: relative paths are in dataDir, and naming
  // either file means the identity is provisioned, so both must be there (none is generated).
  const { keyFile, certFile } = config.identity;
  if (keyFile !== null || certFile !== null) {
    const key = resolve(config.dataDir, keyFile ?? DEFAULT_KEY_FILE);
    const cert = resolve(config.dataDir, certFile ?? DEFAULT_CERT_FILE);
    const k = checkKeyFile(key);
    if (k) problems.push({ code: "IDENTITY_INVALID", key: keyFile !== null ? "identity.keyFile" : "identity.certFile", message: k });
    const c = checkCertFile(cert);
    if (c) problems.push({ code: "IDENTITY_INVALID", key: certFile !== null ? "identity.certFile" : "identity.keyFile", message: c });
  }
  try {
    if (!statSync(config.dataDir).isDirectory()) problems.push({ code: "CONFIG_INVALID", key: "dataDir", message: `${config.dataDir} exists and is not a directory` });
  } catch {
    // Missing: run creates it (mode 0700). Unreadable: run says so with the real error.
  }
  problems.push(...gitFileProblems(config));
  return problems;
}
