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
import { parseTrustBundle } from "../trust/bundle.ts";
import { parseClientId, SpiffeIdError } from "../trust/spiffe-id.ts";
import { x509Facts } from "../trust/x509-facts.ts";
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";
import type { Config } from "./schema.ts";
import { gitFileProblems } from "./git-rules.ts";
import { loadWfmTls, MAX_CA_FILE_BYTES } from "./wfm-tls.ts";

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

/** A file holding credentials: present, regular, and readable by its owner only. Its content is never read here. */
function checkPrivateFile(path: string): string | undefined {
  let info;
  try {
    info = statSync(path);
  } catch (err) {
    return `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (!info.isFile()) return `${path} is not a regular file`;
  if ((info.mode & 0o077) !== 0) return `${path} is mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}; it holds credentials and must be readable by its owner only (chmod 600 ${path})`;
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

/** Where identity.keyFile / certFile point: relative paths are in dataDir (as src/identity/load-or-create.ts reads them). */
export function identityPath(config: Config, file: string): string {
  return resolve(config.dataDir, file);
}

/**
 * The rc3 SVID file, read the way the trust module will at start (enough to
 * refuse early what it will refuse): a PEM certificate whose leaf carries
 * exactly one URI SAN, a SPIFFE ID of the client form
 * (docs/identity-rc3.md, "The agent's SVID"). Validity, chain and key match
 * are the trust module's checks at start (src/trust/svid.ts).
 */
function checkSvidFile(path: string): string | undefined {
  let der: Uint8Array;
  try {
    der = certificateDer(pemText(path));
    parseCertificate(der);
  } catch (err) {
    return err instanceof FileReadError ? err.message : `${path} is not a PEM certificate: ${(err as Error).message}`;
  }
  let uris: string[];
  try {
    uris = x509Facts(der).uris;
  } catch (err) {
    return `${path}: the certificate's extensions cannot be read: ${(err as Error).message}`;
  }
  if (uris.length !== 1) return `${path}: an X.509-SVID carries exactly one URI SAN (a spiffe:// ID); this certificate has ${uris.length}`;
  try {
    parseClientId(uris[0]!);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    return `${path}: ${err.message}`;
  }
  return undefined;
}

/** The rc3 trust bundle file: PEM anchors or a SPIFFE bundle (JWK set). */
function checkBundleFile(path: string): FileProblem | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(path, MAX_CA_FILE_BYTES));
  } catch (err) {
    return { code: "CA_FILE_INVALID", key: "wfm.caFile", message: err instanceof FileReadError ? err.message : `${path} is not UTF-8 text` };
  }
  try {
    parseTrustBundle(text, path);
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    return { code: err.code, key: "wfm.caFile", message: err.message };
  }
  return undefined;
}

/**
 * What the rc3 profile needs to start (docs/identity-rc3.md): an SVID and its
 * key (provisioned; nothing is generated), one trust source, https. `run`
 * refuses the same things when it builds the session, so `config check`
 * gives the same verdict.
 */
function rc3Problems(config: Config): FileProblem[] {
  const problems: FileProblem[] = [];
  const { wfm, identity } = config;
  if (new URL(wfm.url).protocol !== "https:") {
    problems.push({ code: "CONFIG_INVALID", key: "wfm.url", message: `${wfm.url}: wfm.profile rc3 speaks mutual TLS only, so the URL must be https` });
  }
  if (wfm.clientId !== null) {
    problems.push({ code: "CONFIG_INVALID", key: "wfm.clientId", message: "has no meaning with wfm.profile rc3: the client is named by the SPIFFE ID of its SVID (identity.certFile)" });
  }
  for (const [key, file] of [["identity.certFile", identity.certFile], ["identity.keyFile", identity.keyFile]] as const) {
    if (file === null) {
      problems.push({ code: "IDENTITY_INVALID", key, message: "is required with wfm.profile rc3: the X.509-SVID and its key are provisioned out of band (init/README.md)" });
    }
  }
  if (identity.keyFile !== null) {
    const k = checkKeyFile(identityPath(config, identity.keyFile));
    if (k) problems.push({ code: "IDENTITY_INVALID", key: "identity.keyFile", message: k });
  }
  if (identity.certFile !== null) {
    const c = checkSvidFile(identityPath(config, identity.certFile));
    if (c) problems.push({ code: "IDENTITY_INVALID", key: "identity.certFile", message: c });
  }
  if (wfm.caFile === null && wfm.trustDiscovery === null) {
    problems.push({
      code: "TRUST_BUNDLE_MISSING",
      key: "wfm.caFile",
      message: "wfm.profile rc3 needs a trust bundle to verify the WFM: set wfm.caFile (PEM or SPIFFE bundle) or wfm.trustDiscovery (the MIS); there is no trust on first use",
    });
  }
  if (wfm.caFile !== null) {
    const b = checkBundleFile(resolve(wfm.caFile));
    if (b) problems.push(b);
  }
  if (wfm.trustDiscoveryCaFile !== null) {
    try {
      loadWfmTls(wfm.trustDiscoveryCaFile, "wfm.trustDiscoveryCaFile");
    } catch (err) {
      if (!(err instanceof AgentError)) throw err;
      problems.push({ code: err.code, key: "wfm.trustDiscoveryCaFile", message: err.message.replace(/^wfm\.trustDiscoveryCaFile: /, "") });
    }
  }
  return problems;
}

export function configFileProblems(config: Config): FileProblem[] {
  if (config.wfm.profile === "rc3") return [...rc3Problems(config), ...sharedProblems(config)];
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
  return [...problems, ...sharedProblems(config)];
}

/** What both profiles check: the registries' files and the data directory. */
function sharedProblems(config: Config): FileProblem[] {
  const problems: FileProblem[] = [];
  const auth = config.registries.authFile;
  if (auth !== null) {
    const problem = checkPrivateFile(auth);
    if (problem) problems.push({ code: "CONFIG_INVALID", key: "registries.authFile", message: problem });
  }
  for (const [host, file] of Object.entries(config.registries.caFiles)) {
    const problem = checkCertFile(file);
    if (problem) problems.push({ code: "CA_FILE_INVALID", key: `registries.caFiles.${host}`, message: problem });
  }
  try {
    if (!statSync(config.dataDir).isDirectory()) problems.push({ code: "CONFIG_INVALID", key: "dataDir", message: `${config.dataDir} exists and is not a directory` });
  } catch {
    // Missing: run creates it (mode 0700). Unreadable: run says so with the real error.
  }
  problems.push(...gitFileProblems(config));
  return problems;
}
