/**
 * The WFM as the device sees it: reachable, its TLS certificate trusted for
 * its name and not near expiry, the device clock against its Date header, and
 * whether it still accepts this client's signed requests (a WFM restored from
 * a backup answers 401/403 to a client it no longer knows). The one request
 * that needs the device key is a plain desired-state read.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkServerIdentity, connect, type PeerCertificate, rootCertificates } from "node:tls";
import { isIP } from "node:net";
import { resolveDeviceId } from "../../capabilities/device-facts.ts";
import type { Config } from "../../config/schema.ts";
import { loadWfmTls } from "../../config/wfm-tls.ts";
import { asAgentError } from "../../errors/index.ts";
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE, loadOrCreateIdentity } from "../../identity/load-or-create.ts";
import { createRequestSigner, keyIdFor } from "../../identity/request-signer.ts";
import { CLOCK_SKEW_TOLERANCE_SECONDS } from "../../onboarding/clock-skew.ts";
import { TOFU_CA_FILE } from "../../onboarding/trust-on-first-use.ts";
import type { Platform } from "../../platform/types.ts";
import { WfmClient } from "../../protocol/wfm-client.ts";
import { daysUntil, error, EXPIRY_WARNING_DAYS, type Finding, ok, skipped, warning } from "./finding.ts";

/** Below the agent's CLOCK_SKEW tolerance but worth knowing: NTP may not be running. */
const CLOCK_WARNING_SECONDS = 10;

/** The CA file the agent would trust the WFM with: wfm.caFile, else the trust-on-first-use copy. */
function caFileOf(config: Config): string | null {
  if (config.wfm.caFile) return config.wfm.caFile;
  const tofu = join(config.dataDir, TOFU_CA_FILE);
  return config.wfm.trustOnFirstUse && existsSync(tofu) ? tofu : null;
}

function peerCertificate(url: URL, ca: string | undefined, timeoutMs: number): Promise<{ cert: PeerCertificate; authorized: boolean; reason?: string }> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const socket = connect({
      host,
      port: Number(url.port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      ...(ca ? { ca: [...rootCertificates, ca] } : {}),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      const authorized = socket.authorized;
      const reason = socket.authorizationError ? String(socket.authorizationError) : undefined;
      socket.end();
      resolve({ cert, authorized, reason });
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function tlsCheck(config: Config, url: URL, nowMs: number): Promise<Finding> {
  if (url.protocol === "http:") return skipped("tls", "plain http (wfm.allowInsecureHttp, loopback only): no certificate to check");
  let ca: string | undefined;
  const caFile = caFileOf(config);
  try {
    ca = loadWfmTls(caFile)?.ca;
  } catch (err) {
    const e = asAgentError(err);
    return error("tls", e.message, e.code);
  }
  let peer;
  try {
    peer = await peerCertificate(url, ca, config.wfm.requestTimeout);
  } catch (err) {
    return error("tls", `no TLS connection to ${url.host}: ${(err as Error).message}`, "WFM_UNREACHABLE");
  }
  const { cert } = peer;
  const trust = caFile ? `the system store and ${caFile}` : "the system store (wfm.caFile is null)";
  if (!peer.authorized) return error("tls", `the WFM's certificate (${cert.subject?.CN ?? "?"}, issued by ${cert.issuer?.CN ?? "?"}) is not trusted by ${trust}: ${peer.reason}`, "WFM_UNREACHABLE");
  const nameProblem = checkServerIdentity(url.hostname.replace(/^\[|\]$/g, ""), cert);
  if (nameProblem) return error("tls", `the WFM's certificate does not name ${url.hostname}: ${nameProblem.message}`, "WFM_UNREACHABLE");
  const days = daysUntil(Date.parse(cert.valid_to), nowMs);
  const what = `certificate of ${cert.subject?.CN ?? url.hostname} (issued by ${cert.issuer?.CN ?? "?"})`;
  if (days < 0) return error("tls", `the WFM's ${what} expired on ${cert.valid_to}`, "WFM_UNREACHABLE");
  if (days < EXPIRY_WARNING_DAYS) return warning("tls", `the WFM's ${what} expires in ${days} day(s), on ${cert.valid_to}`);
  return ok("tls", `${what} trusted by ${trust}, valid until ${cert.valid_to}`);
}

function clockCheck(date: string | null, sentMs: number, receivedMs: number): Finding {
  if (!date || Number.isNaN(Date.parse(date))) return warning("clock", "the WFM sent no Date header: the device clock cannot be compared");
  // Date has 1 s resolution; compare with the middle of the round trip.
  const skew = Math.round((Date.parse(date) + 500 - (sentMs + receivedMs) / 2) / 1000);
  const text = `device clock ${Math.abs(skew)} s ${skew > 0 ? "behind" : "ahead of"} the WFM (Date: ${date})`;
  if (Math.abs(skew) > CLOCK_SKEW_TOLERANCE_SECONDS) return error("clock", `${text}: signatures are refused outside the WFM's time window; fix the device's time (NTP)`, "CLOCK_SKEW");
  if (Math.abs(skew) > CLOCK_WARNING_SECONDS) return warning("clock", `${text}; is NTP running?`, "CLOCK_SKEW");
  return ok("clock", Math.abs(skew) <= 1 ? "device clock agrees with the WFM's Date header" : text);
}

/** Whether the WFM accepts this client: one signed desired-state read, only with a key that already exists. */
async function clientCheck(config: Config, platform: Platform, clientId: string | undefined, fetch: (u: string, i: RequestInit) => Promise<Response>): Promise<Finding> {
  if (!clientId) return skipped("client", "not onboarded yet: no clientId to ask about");
  const inData = (f: string | null, fallback: string) => (f ? (isAbsolute(f) ? f : join(config.dataDir, f)) : join(config.dataDir, fallback));
  if (!existsSync(inData(config.identity.keyFile, DEFAULT_KEY_FILE)) || !existsSync(inData(config.identity.certFile, DEFAULT_CERT_FILE))) {
    return skipped("client", "no device key yet: the agent generates it at its first start");
  }
  try {
    const identity = await loadOrCreateIdentity({
      dir: config.dataDir,
      keyFile: config.identity.keyFile ?? undefined,
      certFile: config.identity.certFile ?? undefined,
      deviceId: resolveDeviceId(config),
    });
    const client = new WfmClient({
      baseUrl: config.wfm.url.replace(/\/+$/, ""),
      clientId: () => clientId,
      fetch,
      signer: createRequestSigner(identity, keyIdFor(identity, () => clientId)),
      requestTimeoutMs: config.wfm.requestTimeout,
      userAgent: "margo-agent-check",
    });
    const r = await client.getManifest(undefined, config.limits.manifestBytes);
    return ok("client", `the WFM accepts clientId ${clientId}${r.kind === "manifest" ? ` (desired state: manifestVersion ${r.manifest.manifestVersion}, ${r.manifest.deployments.length} deployment(s))` : ""}`);
  } catch (err) {
    const e = asAgentError(err);
    if (e.code === "IDENTITY_REJECTED") {
      return error(
        "client",
        `the WFM does not accept clientId ${clientId}: ${e.message}. A WFM restored from a backup or reset no longer knows it; ${config.wfm.clientId ? "wfm.clientId is configured, so fix it there" : `the agent onboards again after identity.reonboardAfter (${config.identity.reonboardAfter ? `${Math.round(config.identity.reonboardAfter / 60_000)} min` : "off"})`}`,
        e.code,
      );
    }
    return error("client", `asking the WFM for this client's desired state: ${e.message}`, e.code);
  }
  void platform;
}

export async function wfmChecks(config: Config, platform: Platform, clientId: string | undefined, nowMs: number): Promise<Finding[]> {
  const url = new URL(config.wfm.url);
  const findings: Finding[] = [];
  let tls;
  try {
    tls = loadWfmTls(caFileOf(config));
  } catch {
    tls = undefined; // reported by the tls check
  }
  const fetch = (u: string, init: RequestInit) => platform.fetch(u, init, tls);
  const sentMs = Date.now();
  let res: Response;
  try {
    res = await fetch(`${config.wfm.url.replace(/\/+$/, "")}/`, { signal: AbortSignal.timeout(config.wfm.requestTimeout), redirect: "manual" });
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    const e = err as Error;
    findings.push(error("wfm", `${config.wfm.url} does not answer: ${(e.cause as Error | undefined)?.message ?? e.message}`, "WFM_UNREACHABLE"));
    // The TLS check says why when the handshake is the trouble (an untrusted or expired certificate); no connection at all is said once, above.
    const tls = await tlsCheck(config, url, nowMs);
    findings.push(tls.message.startsWith("no TLS connection") ? skipped("tls", "the WFM did not answer") : tls, skipped("clock", "the WFM did not answer"), skipped("client", "the WFM did not answer"));
    return findings;
  }
  const receivedMs = Date.now();
  findings.push(ok("wfm", `${config.wfm.url} answers (HTTP ${res.status} in ${receivedMs - sentMs} ms)`));
  findings.push(await tlsCheck(config, url, nowMs));
  findings.push(clockCheck(res.headers.get("date"), sentMs, receivedMs));
  findings.push(await clientCheck(config, platform, clientId, fetch));
  return findings;
}
