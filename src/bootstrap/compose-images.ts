/**
 * The images a compose file names, for diagnosing a failed pull: literal
 * names, with `${VAR}` / `$VAR` taken from the component's parameters. Best
 * effort by design: the policy and `up` judge the model compose renders, this
 * only picks which registries to ask when an image could not be had.
 */
import { readFileSync } from "node:fs";
import YAML from "yaml";

export function composeImages(composeFile: string, env: Record<string, string>): string[] {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(composeFile, "utf8"), { maxAliasCount: 100 });
  } catch {
    return [];
  }
  const services = (doc as { services?: Record<string, { image?: unknown }> } | null)?.services;
  if (!services || typeof services !== "object") return [];
  const out = new Set<string>();
  for (const s of Object.values(services)) {
    if (typeof s?.image !== "string") continue;
    const image = s.image.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, dflt, b) => env[a ?? b] ?? dflt ?? "");
    if (image && !image.includes("$")) out.add(image);
  }
  return [...out];
}
