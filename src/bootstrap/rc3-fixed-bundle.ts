/**
 * The trust bundle from `wfm.caFile` (docs/identity-rc3.md, "Trust bundle"):
 * PEM anchors or a SPIFFE bundle, provisioned with the device. It is a fixed
 * source, not the discovery store: nothing is fetched, nothing is written to
 * the data directory, and no spiffe_sequence rule applies across edits (the
 * file is the operator's; what it holds now is the bundle). It is re-read when
 * the file changes, so new anchors (a CA rotation) are used without a restart;
 * a change that does not parse is refused and the anchors in use stay.
 */
import { stat } from "node:fs/promises";
import { MAX_CA_FILE_BYTES } from "../config/wfm-tls.ts";
import { AgentError, asAgentError } from "../errors/index.ts";
import type { Logger } from "../log.ts";
import { parseTrustBundle, type TrustBundle } from "../trust/bundle.ts";
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";

export type FileCheck = "unchanged" | "replaced" | "refused";

async function fileVersion(path: string): Promise<string> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (err) {
    return `missing:${(err as NodeJS.ErrnoException).code ?? "?"}`;
  }
}

function readBundle(file: string): TrustBundle {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(file, MAX_CA_FILE_BYTES));
  } catch (err) {
    const why = err instanceof FileReadError ? err.message : `${file} is not UTF-8 text`;
    throw new AgentError("CA_FILE_INVALID", `wfm.caFile: ${why}`, { key: "wfm.caFile", file });
  }
  return parseTrustBundle(text, `wfm.caFile ${file}`);
}

export class FixedBundleSource {
  #held: { bundle: TrustBundle } | undefined;
  #version = 0;
  #seen = "";
  #lastRefusal: string | undefined;

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Reads the file; throws CA_FILE_INVALID (unreadable) or TRUST_BUNDLE_INVALID (no anchor, not a bundle), naming it. */
  async load(): Promise<TrustBundle> {
    const seen = await fileVersion(this.file);
    const bundle = readBundle(this.file);
    this.#held = { bundle };
    this.#seen = seen;
    this.#version = 1;
    return bundle;
  }

  current(): { bundle: TrustBundle } | undefined {
    return this.#held;
  }

  /** Bumps when other anchors are in use: connections built on an older version are not reused. */
  get version(): number {
    return this.#version;
  }

  /** The last refused change (until a later one is taken), for status display. */
  get lastRefusal(): string | undefined {
    return this.#lastRefusal;
  }

  /** Re-reads the file when it changed (a stat, otherwise). Never throws. */
  async checkNow(): Promise<FileCheck> {
    const seen = await fileVersion(this.file);
    if (seen === this.#seen) return "unchanged";
    this.#seen = seen;
    let next: TrustBundle;
    try {
      next = readBundle(this.file);
    } catch (err) {
      const e = asAgentError(err, "TRUST_BUNDLE_INVALID");
      if (this.#lastRefusal !== e.message) this.log.error({ code: e.code, file: this.file }, `${e.message}; the anchors in use stay in use`);
      this.#lastRefusal = e.message;
      return "refused";
    }
    this.#lastRefusal = undefined;
    const held = this.#held?.bundle;
    if (held !== undefined && held.anchorSetId === next.anchorSetId) return "unchanged";
    this.#held = { bundle: next };
    this.#version++;
    this.log.info({ file: this.file, anchors: next.anchors.map((a) => a.fingerprint256), version: this.#version }, "wfm.caFile changed: new connections use its anchors");
    return "replaced";
  }
}
