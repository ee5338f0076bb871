/**
 * A tiny real WFM for the sync's unit tests: one manifest with its bundle and
 * single YAMLs, an ETag over the manifest's bytes, and faults on cue (a status
 * for a path, bytes that do not match their digest, If-None-Match ignored).
 * It records every request with the If-None-Match it carried.
 */
import { writeTarGz } from "../../../src/archive/index.ts";
import { sha256Digest } from "../../../src/protocol/digest.ts";

export const CLIENT_ID = "dev-1";
const CLIENT = `/api/v1/clients/${CLIENT_ID}`;
export const MANIFEST_PATH = `${CLIENT}/deployments`;
const BUNDLE_TYPE = "application/vnd.margo.bundle.v1+tar+gzip";

export interface Published {
  etag: string;
  bundleUrl: string;
  yamlUrls: string[];
}

export class TinyWfm {
  readonly requests: { path: string; ifNoneMatch: string | null }[] = [];
  /** Answer this status (with an empty body) on this path. */
  readonly faults = new Map<string, number>();
  /** Answer 200 even when If-None-Match matches (some WFMs do). */
  ignoreIfNoneMatch = false;
  private readonly files = new Map<string, { body: Uint8Array; type: string }>();
  private readonly server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.answer(req) });
  readonly url = `http://127.0.0.1:${this.server.port}`;

  /**
   * Publishes a manifest (the version as raw digits, so u64 values stay exact).
   * `wrongBundle` serves other bytes than the bundle's digest says; `leaveOut`
   * keeps these deployments' YAMLs out of the bundle; `listAs` lists a YAML
   * under another deployment id than its own.
   */
  publish(version: bigint, yamls: readonly string[], opts: { wrongBundle?: boolean; leaveOut?: string[]; listAs?: Record<string, string> } = {}): Published {
    const refs = yamls.map((yaml) => {
      const own = /id: ([^,}]+)/.exec(yaml)![1]!;
      const id = opts.listAs?.[own] ?? own;
      const digest = sha256Digest(yaml);
      const url = `${CLIENT}/deployments/${id}/${digest}`;
      this.files.set(url, { body: new TextEncoder().encode(yaml), type: "application/yaml" });
      return { deploymentId: id, digest, url };
    });
    const inBundle = yamls.map((yaml, i) => ({ path: `${refs[i]!.deploymentId}.yaml`, data: new TextEncoder().encode(yaml) }));
    const bundle = writeTarGz(inBundle.filter((_, i) => !opts.leaveOut?.includes(refs[i]!.deploymentId)));
    const bundleUrl = `${CLIENT}/bundles/${sha256Digest(bundle)}`;
    this.files.set(bundleUrl, { body: opts.wrongBundle ? writeTarGz([{ path: "other.yaml", data: new TextEncoder().encode("other") }]) : bundle, type: BUNDLE_TYPE });
    const bundleJson = refs.length ? JSON.stringify({ mediaType: BUNDLE_TYPE, digest: sha256Digest(bundle), url: bundleUrl }) : "null";
    const body = `{"manifestVersion":${version},"bundle":${bundleJson},"deployments":${JSON.stringify(refs)}}`;
    this.files.set(MANIFEST_PATH, { body: new TextEncoder().encode(body), type: "application/vnd.margo.manifest.v1+json" });
    return { etag: `"${sha256Digest(body)}"`, bundleUrl, yamlUrls: refs.map((r) => r.url) };
  }

  /** Serves these bytes as the manifest, whatever they are. */
  publishRaw(text: string): string {
    this.files.set(MANIFEST_PATH, { body: new TextEncoder().encode(text), type: "application/vnd.margo.manifest.v1+json" });
    return `"${sha256Digest(text)}"`;
  }

  /** How many times a path was asked for. */
  asked(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  stop(): void {
    void this.server.stop(true);
  }

  private answer(req: Request): Response {
    const path = new URL(req.url).pathname;
    const ifNoneMatch = req.headers.get("if-none-match");
    this.requests.push({ path, ifNoneMatch });
    const fault = this.faults.get(path);
    if (fault) return new Response(null, { status: fault });
    const file = this.files.get(path);
    if (!file) return new Response("not found", { status: 404 });
    const etag = `"${sha256Digest(file.body)}"`;
    if (path === MANIFEST_PATH && !this.ignoreIfNoneMatch && ifNoneMatch === etag) return new Response(null, { status: 304, headers: { etag } });
    return new Response(file.body, { headers: { "content-type": file.type, ...(path === MANIFEST_PATH ? { etag } : {}) } });
  }
}
