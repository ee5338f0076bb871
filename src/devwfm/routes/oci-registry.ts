/** GET/HEAD /v2/…: the dev WFM's read-only OCI endpoint (../oci-registry.ts). */
import type { Context, Hono } from "hono";
import path from "node:path";
import type { DevWfmContext } from "../context.ts";
import { DevOciRegistry, type OciAnswer } from "../oci-registry.ts";

function answer(c: Context, a: OciAnswer): Response {
  if (a.status !== 200) return c.json({ errors: [{ code: a.code, message: a.message }] }, a.status);
  const headers = { "Content-Type": a.type, "Docker-Content-Digest": a.digest, "Content-Length": String(a.body.byteLength) };
  return c.req.method === "HEAD" ? c.body(null, 200, headers) : c.body(a.body as Uint8Array<ArrayBuffer>, 200, headers);
}

export function registerOciRegistry(app: Hono, ctx: DevWfmContext): void {
  const registry = new DevOciRegistry(() => path.join(ctx.dir, "packages"));
  app.get("/v2/", (c) => c.json({}));
  app.on(["GET", "HEAD"], "/v2/*", async (c) => {
    const rest = new URL(c.req.url).pathname.slice("/v2/".length);
    const m = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(rest);
    if (!m) return c.json({ errors: [{ code: "UNSUPPORTED", message: "the dev WFM serves manifests and blobs only" }] }, 404);
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    return answer(c, kind === "manifests" ? await registry.manifest(name, ref) : await registry.blob(name, decodeURIComponent(ref)));
  });
}
