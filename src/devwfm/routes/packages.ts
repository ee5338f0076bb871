/** GET /packages/*: the files under DIR/packages/ (path checks in ../packages.ts). */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Hono } from "hono";
import type { DevWfmContext } from "../context.ts";
import { problem } from "../http.ts";
import { packageContentType, resolvePackagePath } from "../packages.ts";

export function registerPackages(app: Hono, ctx: DevWfmContext): void {
  app.get("/packages/*", (c) => {
    const found = resolvePackagePath(path.join(ctx.dir, "packages"), new URL(c.req.url).pathname);
    if ("reason" in found) return problem(c, found.status, found.status === 400 ? "bad package path" : "no such package", found.reason);
    return c.body(readFileSync(found.file) as Uint8Array<ArrayBuffer>, 200, { "Content-Type": packageContentType(found.file), "Cache-Control": "no-cache" });
  });
}
