/**
 * The folder seen as a sequence of generations: each scan whose content
 * differs from the last one gets the next manifestVersion. The content of the
 * last few generations stays downloadable, so an agent that fetched a manifest
 * just before the folder changed can still download what that manifest names.
 */
import { writeTarGz } from "../archive/index.ts";
import { sha256Digest } from "../protocol/digest.ts";
import { contentDigestOf, scanFolder, type FolderDeployment, type Shape, type SkippedFile } from "./folder.ts";

/** How many generations keep their YAMLs and bundle downloadable. */
export const KEPT_GENERATIONS = 5;

export interface Generation {
  manifestVersion: number;
  contentDigest: string;
  deployments: FolderDeployment[];
  bundle: { bytes: Uint8Array; digest: string } | null;
  skipped: SkippedFile[];
  /** When this generation was first seen (ISO 8601). */
  since: string;
}

export interface Counter {
  manifestVersion: number;
  contentDigest: string | null;
}

/** Deterministic: one file per deployment named after its id, sorted, fixed mtimes (writeTarGz's). */
export function buildBundle(deployments: readonly FolderDeployment[]): { bytes: Uint8Array; digest: string } | null {
  if (deployments.length === 0) return null;
  const bytes = writeTarGz(deployments.map((d) => ({ path: `${d.id}.yaml`, data: d.bytes })));
  return { bytes, digest: sha256Digest(bytes) };
}

/** Name and application id of a deployment this dev WFM has served (the page shows them). */
export interface DeploymentLabel {
  name: string | null;
  applicationId: string | null;
}

export class DesiredState {
  private generations: Generation[] = [];
  /** Every deployment served since start, also after it left the folder (its last reports stay on the page). */
  private readonly labels = new Map<string, DeploymentLabel>();

  /**
   * `counter` is the persisted state; `persist` is called after it changed.
   * `now` gives ISO timestamps for the page; `shape` is the profile's form of a served YAML.
   */
  constructor(
    private readonly dir: string,
    private readonly counter: Counter,
    private readonly persist: () => void,
    private readonly now: () => number,
    private readonly shape?: Shape,
  ) {}

  /** Scans the folder; bumps manifestVersion when the served content changed. */
  refresh(baseUrl: string): Generation {
    const scan = scanFolder(this.dir, baseUrl, this.shape);
    for (const d of scan.deployments) this.labels.set(d.id, { name: d.name, applicationId: d.applicationId });
    const contentDigest = contentDigestOf(scan.deployments);
    const latest = this.generations.at(-1);
    if (latest && latest.contentDigest === contentDigest) {
      latest.skipped = scan.skipped;
      // Same bytes, but warnings may refer to a file name that moved: keep the fresh scan's.
      latest.deployments = scan.deployments;
      return latest;
    }
    if (this.counter.contentDigest !== contentDigest || this.counter.manifestVersion === 0) {
      this.counter.manifestVersion += 1;
      this.counter.contentDigest = contentDigest;
      this.persist();
    }
    const generation: Generation = {
      manifestVersion: this.counter.manifestVersion,
      contentDigest,
      deployments: scan.deployments,
      bundle: buildBundle(scan.deployments),
      skipped: scan.skipped,
      since: new Date(this.now()).toISOString(),
    };
    this.generations.push(generation);
    if (this.generations.length > KEPT_GENERATIONS) this.generations.splice(0, this.generations.length - KEPT_GENERATIONS);
    return generation;
  }

  label(id: string): DeploymentLabel | undefined {
    return this.labels.get(id);
  }

  current(): Generation | undefined {
    return this.generations.at(-1);
  }

  /** The YAML bytes of deployment `id` with this digest, from any kept generation. */
  deploymentYaml(id: string, digest: string): Uint8Array | undefined {
    for (const g of this.generations) {
      const found = g.deployments.find((d) => d.id === id && d.digest === digest);
      if (found) return found.bytes;
    }
    return undefined;
  }

  bundle(digest: string): Uint8Array | undefined {
    return this.generations.find((g) => g.bundle?.digest === digest)?.bundle?.bytes;
  }
}
