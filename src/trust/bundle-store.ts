/**
 * The trust bundle the agent validates the WFM against, persisted in the
 * data directory so a reboot while the MIS is unreachable still has it
 * (docs/identity-rc3.md, "Trust bundle"). Rules:
 *
 * - an accepted bundle replaces the held one entirely (never merged: an
 *   anchor the operator removed to revoke it must stop working);
 * - a lower spiffe_sequence is refused (TRUST_BUNDLE_REGRESSION), and so is a
 *   bundle without a sequence once the held one has one (the sequence cannot
 *   be dropped to get around the check);
 * - the same sequence with other anchors is refused (TRUST_BUNDLE_INVALID:
 *   the sequence must change with the content);
 * - the file is written atomically, and only when something changed.
 */
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { bundleFromAnchors, type TrustBundle } from "./bundle.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";

export const BUNDLE_FILE = "trust-bundle.json";

export interface HeldBundle {
  readonly bundle: TrustBundle;
  readonly trustDomain: string;
  /** Where it came from: a URL, a file. */
  readonly source: string;
  /** The bundle endpoint's ETag, for If-None-Match. */
  readonly etag: string | undefined;
  /** When it was accepted (ISO 8601). */
  readonly acceptedAt: string;
}

/** On disk: our own format, not the MIS's; the anchors are what matters. */
const StoredSchema = v.object({
  format: v.literal(1),
  trustDomain: v.string(),
  source: v.string(),
  etag: v.nullable(v.string()),
  acceptedAt: v.string(),
  bundleFormat: v.picklist(["pem", "spiffe"]),
  sequence: v.nullable(v.pipe(v.string(), v.regex(/^\d+$/))),
  refreshHintSeconds: v.nullable(v.number()),
  anchors: v.array(v.string()),
});

export type OfferOutcome = "replaced" | "unchanged";

export class TrustBundleStore {
  #held: HeldBundle | undefined;
  #version = 0;

  constructor(
    /** The file (in the data directory). */
    readonly file: string,
    /** The trust domain of the agent's SVID: a bundle is only ever held for it. */
    readonly trustDomain: string,
  ) {}

  /** The held bundle, if any. */
  current(): HeldBundle | undefined {
    return this.#held;
  }

  /** Bumps on every accepted change of anchors; TLS users rebuild their options when it moves. */
  get version(): number {
    return this.#version;
  }

  /**
   * Loads the persisted bundle. A missing file is no bundle; an unreadable or
   * corrupt one, or one for another trust domain, is reported in the result
   * and ignored (the next fetch replaces it), never a crash.
   */
  async load(): Promise<{ loaded: boolean; problem?: string }> {
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { loaded: false };
      return { loaded: false, problem: `cannot read ${this.file}: ${(err as Error).message}` };
    }
    try {
      const stored = v.parse(StoredSchema, JSON.parse(text));
      if (stored.trustDomain !== this.trustDomain) {
        return { loaded: false, problem: `${this.file} holds a bundle for trust domain ${stored.trustDomain}, not ${this.trustDomain}; ignored` };
      }
      const anchors = stored.anchors.map((b64) => new X509Certificate(Buffer.from(b64, "base64")));
      const bundle = bundleFromAnchors(
        anchors,
        {
          format: stored.bundleFormat,
          sequence: stored.sequence === null ? undefined : BigInt(stored.sequence),
          refreshHintSeconds: stored.refreshHintSeconds ?? undefined,
        },
        this.file,
      );
      this.#held = { bundle, trustDomain: stored.trustDomain, source: stored.source, etag: stored.etag ?? undefined, acceptedAt: stored.acceptedAt };
      this.#version++;
      return { loaded: true };
    } catch (err) {
      return { loaded: false, problem: `${this.file} is not a usable cached bundle (${(err as Error).message}); ignored` };
    }
  }

  /**
   * Offers a freshly fetched (or read) bundle. Returns "replaced" when it is
   * now the held bundle, "unchanged" when it equals the held one. Throws
   * TRUST_BUNDLE_REGRESSION or TRUST_BUNDLE_INVALID and keeps the held one.
   */
  async offer(bundle: TrustBundle, meta: { source: string; etag?: string; now?: Date }): Promise<OfferOutcome> {
    const held = this.#held?.bundle;
    if (held !== undefined) {
      this.#checkSequence(held, bundle, meta.source);
      const same =
        held.anchorSetId === bundle.anchorSetId && held.sequence === bundle.sequence && held.refreshHintSeconds === bundle.refreshHintSeconds;
      if (same) {
        // Only a changed ETag is worth a write (flash wear): it keeps the next request a cheap 304.
        if (meta.etag !== undefined && meta.etag !== this.#held?.etag) await this.#persist({ ...this.#held!, etag: meta.etag });
        return "unchanged";
      }
    }
    const next: HeldBundle = {
      bundle,
      trustDomain: this.trustDomain,
      source: meta.source,
      etag: meta.etag,
      acceptedAt: (meta.now ?? new Date()).toISOString(),
    };
    const anchorsChanged = held === undefined || held.anchorSetId !== bundle.anchorSetId;
    await this.#persist(next);
    if (anchorsChanged) this.#version++;
    return "replaced";
  }

  #checkSequence(held: TrustBundle, offered: TrustBundle, source: string): void {
    if (held.sequence === undefined) return;
    if (offered.sequence === undefined) {
      throw new AgentError(
        "TRUST_BUNDLE_REGRESSION",
        `${source}: the bundle carries no spiffe_sequence, but the held bundle has sequence ${held.sequence}; refused, keeping the held bundle`,
        { where: source, heldSequence: String(held.sequence) },
      );
    }
    if (offered.sequence < held.sequence) {
      throw new AgentError(
        "TRUST_BUNDLE_REGRESSION",
        `${source}: spiffe_sequence ${offered.sequence} is lower than the held bundle's ${held.sequence} (possible rollback); refused, keeping the held bundle`,
        { where: source, heldSequence: String(held.sequence), offeredSequence: String(offered.sequence) },
      );
    }
    if (offered.sequence === held.sequence && offered.anchorSetId !== held.anchorSetId) {
      throw new AgentError(
        "TRUST_BUNDLE_INVALID",
        `${source}: spiffe_sequence ${offered.sequence} is unchanged but the anchors differ (a bundle's sequence must change with its content); refused, keeping the held bundle`,
        { where: source },
      );
    }
  }

  async #persist(next: HeldBundle): Promise<void> {
    const stored: v.InferOutput<typeof StoredSchema> = {
      format: 1,
      trustDomain: next.trustDomain,
      source: next.source,
      etag: next.etag ?? null,
      acceptedAt: next.acceptedAt,
      bundleFormat: next.bundle.format,
      sequence: next.bundle.sequence === undefined ? null : String(next.bundle.sequence),
      refreshHintSeconds: next.bundle.refreshHintSeconds ?? null,
      anchors: next.bundle.anchors.map((a) => Buffer.from(a.raw).toString("base64")),
    };
    // Written before it is used: a crash after the swap must not come back with the old bundle.
    await writeFileAtomic(this.file, `${JSON.stringify(stored, null, 2)}\n`, 0o644);
    this.#held = next;
  }
}
