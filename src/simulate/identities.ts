/**
 * Where each simulated rc3 device's client SVID comes from (docs/simulate.md):
 * a folder with one subfolder per device, as `dev-wfm issue-svid --out
 * DIR/NAME` writes them, or minted here from a dev WFM's state dir (its CA),
 * the way issue-svid does. A device whose SVID is missing or unusable is
 * named in the error before any device starts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { clientFilesIn, issueClientFiles, loadOrCreateRc3Identity, type Rc3Identity } from "../devwfm/index.ts";
import { AgentError } from "../errors/index.ts";
import type { SvidFiles } from "./device.ts";

/** The device names of a fleet: sim-00001 … (zero-padded so they sort). */
export function deviceNames(count: number, prefix = "sim"): string[] {
  const width = Math.max(5, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, "0")}`);
}


/** SVIDs from a folder: the first `count` subfolders holding svid.pem, svid-key.pem and bundle.pem, by name. */
export function svidsFromFolder(dir: string, count: number): { name: string; svid: SvidFiles }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => statSync(join(dir, n)).isDirectory()).sort();
  } catch (err) {
    throw new AgentError("CONFIG_INVALID", `--svids ${dir}: cannot read the folder (${(err as Error).message})`);
  }
  const usable = names.filter((n) => Object.values(clientFilesIn(join(dir, n))).every((f) => existsSync(f)));
  if (usable.length < count) {
    throw new AgentError("CONFIG_INVALID", `--svids ${dir}: ${count} devices need ${count} subfolders with svid.pem, svid-key.pem and bundle.pem; found ${usable.length}`);
  }
  return usable.slice(0, count).map((name) => ({ name, svid: clientFilesIn(join(dir, name)) }));
}

/** What a minted SVID is good for; one minted by an earlier run is used again while it has at least a day left. */
const MINT_VALIDITY_MS = 30 * 86_400_000;

/**
 * SVIDs minted by the dev WFM's CA in `stateDir` into `outDir/NAME`. One from
 * an earlier run is used again when the same CA issued it and it is recent.
 */
export async function mintSvids(
  stateDir: string,
  outDir: string,
  names: readonly string[],
  opts: { onProgress?: (done: number) => void; stopped?: () => boolean } = {},
): Promise<{ name: string; svid: SvidFiles }[]> {
  const identity = await loadOrCreateRc3Identity(stateDir);
  const out: { name: string; svid: SvidFiles }[] = [];
  for (const name of names) {
    if (opts.stopped?.()) break; // SIGINT while minting: no device will start
    const files = clientFilesIn(join(outDir, name));
    if (!reusable(files, identity)) await issueClientFiles(identity, name, join(outDir, name), { validityMs: MINT_VALIDITY_MS });
    out.push({ name, svid: files });
    if (out.length % 500 === 0) opts.onProgress?.(out.length);
  }
  return out;
}

function reusable(files: SvidFiles, identity: Rc3Identity): boolean {
  try {
    if (readFileSync(files.bundleFile, "utf8") !== identity.ca.anchorPem || !existsSync(files.keyFile)) return false;
    return statSync(files.certFile).mtimeMs > Date.now() - MINT_VALIDITY_MS + 86_400_000;
  } catch {
    return false;
  }
}
