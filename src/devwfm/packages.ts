/**
 * Serving DIR/packages/ at /packages/<relative path> without ever leaving that
 * folder: every raw URL segment is decoded and refused if it is empty, `.`,
 * `..`, or holds a slash, backslash or NUL; the resolved real path (symlinks
 * followed) must still be inside the packages folder.
 */
import { realpathSync, statSync } from "node:fs";
import path from "node:path";

export const PACKAGES_PREFIX = "/packages/";

/** The file to serve for this raw URL pathname, or a reason it is refused / absent. */
export function resolvePackagePath(packagesDir: string, rawPathname: string): { file: string } | { status: 400 | 404; reason: string } {
  if (!rawPathname.startsWith(PACKAGES_PREFIX)) return { status: 404, reason: "not under /packages/" };
  const segments: string[] = [];
  for (const raw of rawPathname.slice(PACKAGES_PREFIX.length).split("/")) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { status: 400, reason: "malformed percent-encoding in the package path" };
    }
    if (seg === "" || seg === "." || seg === ".." || /[/\\\0]/.test(seg)) {
      return { status: 400, reason: "package paths may not hold empty, '.' or '..' segments, slashes, backslashes or NUL" };
    }
    segments.push(seg);
  }
  let root: string;
  let real: string;
  try {
    root = realpathSync(packagesDir);
    real = realpathSync(path.join(packagesDir, ...segments));
  } catch {
    return { status: 404, reason: "no such package" };
  }
  if (real !== root && !real.startsWith(root + path.sep)) return { status: 404, reason: "no such package" };
  try {
    if (!statSync(real).isFile()) return { status: 404, reason: "not a file" };
  } catch {
    return { status: 404, reason: "no such package" };
  }
  return { file: real };
}

export function packageContentType(file: string): string {
  if (/\.ya?ml$/i.test(file)) return "application/yaml";
  if (/\.(tar\.gz|tgz|gz)$/i.test(file)) return "application/gzip";
  if (/\.(asc|sig|txt)$/i.test(file)) return "text/plain; charset=utf-8";
  if (/\.json$/i.test(file)) return "application/json";
  return "application/octet-stream";
}
