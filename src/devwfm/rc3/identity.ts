/**
 * The dev WFM's rc3 identity, kept in its state dir (docs/identity-rc3.md,
 * "Development CA"): a development trust domain and its CA (ca/, made by
 * DevCa.loadOrCreate on first use), this WFM's wfm-id, and the SPIFFE bundle
 * sequence. rc3.json is written when the identity is created and when the
 * CA's anchor changed (someone deleted ca/): the sequence then goes up, so an
 * agent holding the old bundle takes the new one instead of refusing "same
 * sequence, other anchors".
 *
 * Client SVIDs are minted here too (`dev-wfm issue-svid`); each one is
 * recorded under issued/ (one file per client, so the CLI can write it while
 * a dev WFM runs on the same state dir without either overwriting the other).
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as v from "valibot";
import { DevCa, wfmSpiffeId, writeSvidFiles, type MargoWfmId, type SvidMaterial } from "../../trust/index.ts";
import { writeFileAtomic } from "../../util/atomic-file.ts";
import { clientSpiffeId } from "../../trust/spiffe-id.ts";

export const DEFAULT_TRUST_DOMAIN = "margo-dev.local";
export const DEFAULT_WFM_ID = "dev-wfm";
const DAY_MS = 86_400_000;
/** Client SVIDs default to 90 days: long enough for development, short enough to meet the expiry warning. */
export const DEFAULT_CLIENT_VALIDITY_MS = 90 * DAY_MS;

const Rc3FileSchema = v.object({
  trustDomain: v.string(),
  wfmId: v.string(),
  bundleSequence: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  /** SHA-256 fingerprint of the anchor the sequence belongs to. */
  anchorFingerprint: v.string(),
});
type Rc3File = v.InferOutput<typeof Rc3FileSchema>;

const IssuedSchema = v.object({
  clientId: v.string(),
  spiffeId: v.string(),
  issuedAt: v.string(),
  notAfter: v.string(),
  fingerprint: v.string(),
});
export type IssuedClient = v.InferOutput<typeof IssuedSchema>;

export interface Rc3Identity {
  readonly stateDir: string;
  readonly trustDomain: string;
  readonly wfmId: string;
  readonly wfm: MargoWfmId;
  readonly ca: DevCa;
  readonly bundleSequence: number;
}

function readRc3File(file: string): Rc3File | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`dev WFM ${file} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`dev WFM ${file} is not JSON (${(err as Error).message}); fix it, or delete the state dir to start a new trust domain`);
  }
  const parsed = v.safeParse(Rc3FileSchema, json);
  if (!parsed.success) throw new Error(`dev WFM ${file} does not have the expected shape: ${parsed.issues[0]?.message}`);
  return parsed.output;
}

/** The identity in `stateDir`, created on first use. Throws naming the file or option that is wrong. */
export async function loadOrCreateRc3Identity(stateDir: string, opts: { trustDomain?: string; wfmId?: string } = {}): Promise<Rc3Identity> {
  const file = path.join(stateDir, "rc3.json");
  const held = readRc3File(file);
  for (const key of ["trustDomain", "wfmId"] as const) {
    if (held !== undefined && opts[key] !== undefined && opts[key] !== held[key]) {
      throw new Error(`the state dir ${stateDir} belongs to ${key} ${held[key]}, not ${opts[key]}; use another --state for another WFM`);
    }
  }
  const trustDomain = held?.trustDomain ?? opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const wfmId = held?.wfmId ?? opts.wfmId ?? DEFAULT_WFM_ID;
  const wfm = wfmSpiffeId(trustDomain, wfmId); // throws SpiffeIdError naming the bad part
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const ca = await DevCa.loadOrCreate(path.join(stateDir, "ca"), { trustDomain });
  const fingerprint = ca.anchor.fingerprint256;
  let bundleSequence = held?.bundleSequence ?? 1;
  if (held === undefined || held.anchorFingerprint !== fingerprint) {
    if (held !== undefined) bundleSequence += 1;
    await writeFileAtomic(file, `${JSON.stringify({ trustDomain, wfmId, bundleSequence, anchorFingerprint: fingerprint }, null, 2)}\n`, 0o644);
  }
  return { stateDir, trustDomain, wfmId, wfm, ca, bundleSequence };
}

/** The server SVID for this start: the WFM's SPIFFE ID, localhost names, and the host agents are told to use. */
export function issueWfmSvid(identity: Rc3Identity, extraHosts: readonly string[] = []): SvidMaterial {
  const dnsNames = ["localhost"];
  const ips = ["127.0.0.1", "::1"];
  for (const host of extraHosts) {
    const bare = host.replace(/^\[|\]$/g, "");
    if (/^[0-9.]+$/.test(bare) || bare.includes(":")) {
      if (!ips.includes(bare) && bare !== "0.0.0.0" && bare !== "::") ips.push(bare);
    } else if (!dnsNames.includes(bare.toLowerCase())) dnsNames.push(bare.toLowerCase());
  }
  return identity.ca.issueWfmSvid(identity.wfmId, { dnsNames, ips });
}

export interface IssuedFiles {
  spiffeId: string;
  certFile: string;
  keyFile: string;
  bundleFile: string;
  notAfter: Date;
}

/** Where issueClientFiles puts a client's files in `outDir` (what `--svids DIR/NAME` of simulate reads). */
export function clientFilesIn(outDir: string): { certFile: string; keyFile: string; bundleFile: string } {
  return { certFile: path.join(outDir, "svid.pem"), keyFile: path.join(outDir, "svid-key.pem"), bundleFile: path.join(outDir, "bundle.pem") };
}

/**
 * Mints a client SVID for `clientId` into `outDir`: svid.pem (leaf and
 * intermediate, 0644), svid-key.pem (0600) and bundle.pem (the trust anchor,
 * what wfm.caFile may name). Throws SpiffeIdError for a name that is not one
 * SPIFFE path segment.
 */
export async function issueClientFiles(identity: Rc3Identity, clientId: string, outDir: string, opts: { validityMs?: number; now?: number } = {}): Promise<IssuedFiles> {
  const id = clientSpiffeId(identity.trustDomain, identity.wfmId, clientId);
  const svid = identity.ca.issueClientSvid(identity.wfmId, clientId, { validityMs: opts.validityMs ?? DEFAULT_CLIENT_VALIDITY_MS, now: opts.now });
  const files = clientFilesIn(outDir);
  const { certFile, keyFile } = await writeSvidFiles(outDir, svid, { cert: path.basename(files.certFile), key: path.basename(files.keyFile) });
  const { bundleFile } = files;
  await writeFileAtomic(bundleFile, identity.ca.anchorPem, 0o644);
  const record: IssuedClient = {
    clientId,
    spiffeId: id.id,
    issuedAt: new Date(opts.now ?? Date.now()).toISOString(),
    notAfter: svid.leaf.validToDate.toISOString(),
    fingerprint: svid.leaf.fingerprint256,
  };
  const issuedDir = path.join(identity.stateDir, "issued");
  mkdirSync(issuedDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path.join(issuedDir, `${clientId}.json`), `${JSON.stringify(record, null, 2)}\n`, 0o644);
  return { spiffeId: id.id, certFile, keyFile, bundleFile, notAfter: svid.leaf.validToDate };
}

/** The clients minted for this state dir, sorted by clientId; unreadable records are skipped. */
export function issuedClients(stateDir: string): IssuedClient[] {
  const dir = path.join(stateDir, "issued");
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: IssuedClient[] = [];
  for (const name of names.sort()) {
    try {
      const parsed = v.safeParse(IssuedSchema, JSON.parse(readFileSync(path.join(dir, name), "utf8")));
      if (parsed.success) out.push(parsed.output);
    } catch {
      // A record being written right now, or damaged: the page simply does not list it.
    }
  }
  return out;
}
