/**
 * The device-side checks: the data directory and its lock, the state database,
 * the journal, the disk reserve and the device certificate. Read-only: nothing
 * here creates, locks or writes a file (a running agent is never disturbed).
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { openStoredState } from "../../api/offline.ts";
import type { Config } from "../../config/schema.ts";
import { asAgentError } from "../../errors/index.ts";
import { DEFAULT_CERT_FILE } from "../../identity/load-or-create.ts";
import { statfsFreeSpace } from "../../packages/disk.ts";
import type { Platform } from "../../platform/types.ts";
import { LOCK_FILE, PID_FILE } from "../../store/data-dir-lock.ts";
import { META } from "../../store/meta-keys.ts";
import { daysUntil, error, EXPIRY_WARNING_DAYS, type Finding, ok, skipped, warning } from "./finding.ts";

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

export function dataDirCheck(config: Config): Finding {
  const dir = config.dataDir;
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) return warning("dataDir", `${dir} does not exist yet (the agent creates it, mode 0700, at its first start)`);
  if (!st.isDirectory()) return error("dataDir", `${dir} is not a directory`, "STORE_UNAVAILABLE");
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    return error("dataDir", `${dir} is not writable (${(err as NodeJS.ErrnoException).code}): the agent cannot keep its state`, "STORE_UNAVAILABLE");
  }
  const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
  if (st.mode & 0o077) return warning("dataDir", `${dir} is mode ${mode}: other users can read it (device key, state); the agent creates it 0700`);
  return ok("dataDir", `${dir}, mode ${mode}, writable`);
}

/** Whether an agent holds the data directory, seen without taking the lock (a read of agent.lock fails while it is held). */
export function lockCheck(config: Config, platform: Platform): Finding {
  const path = join(config.dataDir, LOCK_FILE);
  if (!existsSync(path)) return warning("lock", `no agent has run with this data directory (no ${LOCK_FILE})`);
  let pid = "unknown";
  try {
    pid = readFileSync(join(config.dataDir, PID_FILE), "utf8").trim() || pid;
  } catch {
    // the pid file is for messages only
  }
  try {
    const db = platform.openDatabase(path, { readonly: true });
    try {
      db.exec("PRAGMA busy_timeout = 0");
      db.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get();
    } finally {
      db.close();
    }
  } catch (err) {
    if (/locked|busy/i.test(String((err as Error).message))) return ok("lock", `held by a running agent (pid ${pid})`);
    return error("lock", `${path} cannot be read: ${(err as Error).message}`, "STORE_UNAVAILABLE");
  }
  return warning("lock", `no agent holds the data directory now${pid === "unknown" ? "" : ` (pid ${pid} held it last)`}; is the service running?`);
}

/** The state database (read-only integrity check) and the journal's backlog. */
export function storeAndJournalChecks(config: Config, platform: Platform): Finding[] {
  const file = join(config.dataDir, "state.db");
  if (!existsSync(file)) return [warning("store", `no state database yet (${file}): the agent has not run with this dataDir`), skipped("journal", "no state database")];
  let reader;
  try {
    reader = openStoredState(platform, config.dataDir);
  } catch (err) {
    const e = asAgentError(err);
    return [error("store", `${file}: ${e.message}`, e.code), skipped("journal", "the state database does not open")];
  }
  if (!reader) return [skipped("store", "no state database"), skipped("journal", "no state database")];
  const findings: Finding[] = [];
  try {
    const verdict = reader.quickCheck();
    const deployments = reader.deployments();
    const failed = deployments.filter((d) => d.state === "failed");
    const manifest = reader.state().manifestVersion;
    findings.push(
      verdict === "ok"
        ? failed.length
          ? warning("store", `intact; ${deployments.length} deployment(s), ${failed.length} failed: ${failed.map((d) => `${d.id} (${d.error?.code ?? "?"})`).join(", ")}`)
          : ok("store", `intact; ${deployments.length} deployment(s)${manifest ? `, manifestVersion ${manifest}` : ", no desired state applied yet"}`)
        : error("store", `${file} failed its integrity check: ${verdict}`, "STORE_CORRUPT"),
    );
    const j = reader.journal();
    const oldest = j.pending[0];
    const oldestAge = oldest ? oldest.ageSeconds : 0;
    if (j.counts.parked > 0) findings.push(warning("journal", `${j.counts.parked} report(s) rejected by the WFM and parked (see margo-agent journal); ${j.counts.pending} pending`, "REPORT_REJECTED"));
    else if (j.counts.pending > 0 && oldestAge > 600) findings.push(warning("journal", `${j.counts.pending} report(s) waiting for the WFM, the oldest for ${Math.round(oldestAge / 60)} min: ${oldest?.lastError ?? "not sent yet"}`));
    else findings.push(ok("journal", `${j.counts.pending} report(s) pending, none parked${j.counts.compacted ? `, ${j.counts.compacted} compacted` : ""}`));
  } catch (err) {
    const e = asAgentError(err);
    findings.push(error("store", `${file}: ${e.message}`, e.code));
  } finally {
    reader.close();
  }
  return findings;
}

/** The stored or configured clientId (read-only), for the identity and client checks. */
export function storedClientId(config: Config, platform: Platform): string | undefined {
  if (config.wfm.clientId) return config.wfm.clientId;
  const reader = existsSync(join(config.dataDir, "state.db")) ? openStoredState(platform, config.dataDir) : undefined;
  try {
    return reader?.meta(META.clientId) || undefined;
  } catch {
    return undefined;
  } finally {
    reader?.close();
  }
}

export async function diskCheck(config: Config): Promise<Finding> {
  const dir = existsSync(config.dataDir) ? config.dataDir : "/";
  let free: number;
  try {
    free = await statfsFreeSpace(dir);
  } catch (err) {
    return error("disk", `cannot read the free space of ${dir}: ${(err as Error).message}`);
  }
  const reserve = config.packages.reserve;
  if (free < reserve) return error("disk", `${mib(free)} free on ${dir}, below the reserve of ${mib(reserve)} (packages.reserve): deployments fail early`, "DISK_SPACE_LOW");
  if (free < 2 * reserve) return warning("disk", `${mib(free)} free on ${dir}, less than twice the reserve of ${mib(reserve)} (packages.reserve)`, "DISK_SPACE_LOW");
  return ok("disk", `${mib(free)} free on ${dir} (reserve ${mib(reserve)})`);
}

/** The device certificate: present, readable, not expired, not expiring soon; onboarded or not. */
export function identityCheck(config: Config, clientId: string | undefined, nowMs: number): Finding {
  const configured = config.identity.certFile;
  const file = configured ? (isAbsolute(configured) ? configured : join(config.dataDir, configured)) : join(config.dataDir, DEFAULT_CERT_FILE);
  const onboarded = clientId ? `clientId ${clientId}${config.wfm.clientId ? " (wfm.clientId)" : ""}` : "not onboarded yet";
  if (!existsSync(file)) {
    if (configured) return error("identity", `identity.certFile ${file} does not exist`, "IDENTITY_INVALID");
    return warning("identity", `no device certificate yet (${file} is generated at the first start); ${onboarded}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(file));
  } catch (err) {
    return error("identity", `${file} is not a readable certificate: ${(err as Error).message}`, "IDENTITY_INVALID");
  }
  const days = daysUntil(Date.parse(cert.validTo), nowMs);
  if (days < 0) return error("identity", `the device certificate ${file} expired on ${cert.validTo}; ${onboarded}`, "IDENTITY_INVALID");
  if (days < EXPIRY_WARNING_DAYS) return warning("identity", `the device certificate ${file} expires in ${days} day(s) (${cert.validTo}); ${onboarded}`, "IDENTITY_INVALID");
  if (!clientId) return warning("identity", `certificate valid until ${cert.validTo}; not onboarded yet (the agent onboards at its start and retries until the WFM approves)`, "ONBOARDING_PENDING");
  return ok("identity", `certificate valid until ${cert.validTo}; ${onboarded}`);
}
