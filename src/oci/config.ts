/**
 * The `registries:` configuration section (schema to embed in src/config/schema.ts) and turning it
 * into the RegistryAccess the transport uses: credentials read once from the auth file, CA files
 * read once, mirror URLs checked against the same URL policy as every request.
 *
 *   registries:
 *     authFile: /etc/margo-agent/registries.json      # docker config.json format, mode 0600
 *     mirrors: {"registry.example.com": ["https://mirror.plant.local:5000"]}
 *     caFiles: {"registry.example.com": /etc/margo-agent/registry-ca.pem}
 *
 * Plain http stays governed by packages.allowInsecureHttp (loopback only).
 */
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";
import { loadAuthFile, noCredentials } from "./auth-file.ts";
import type { RegistryAccess } from "./transport.ts";
import { checkRegistryUrl } from "./url-policy.ts";

const host = v.pipe(v.string(), v.regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, "must be a registry host[:port], e.g. registry.example.com or 127.0.0.1:5000"));
const mirrorUrl = v.pipe(
  v.string(),
  v.check((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "https:" || u.protocol === "http:") && !u.username && !u.password && (u.pathname === "/" || u.pathname === "") && !u.search && !u.hash;
    } catch {
      return false;
    }
  }, "must be scheme://host[:port] without a path or credentials, e.g. https://mirror.plant.local:5000"),
);

export const RegistriesConfigSchema = v.optional(
  v.strictObject({
    authFile: v.optional(v.nullable(v.pipe(v.string(), v.minLength(1, "must not be empty"))), null),
    mirrors: v.optional(v.record(host, v.array(mirrorUrl)), {}),
    caFiles: v.optional(v.record(host, v.pipe(v.string(), v.minLength(1, "must not be empty"))), {}),
  }),
  {},
);

export type RegistriesConfig = v.InferOutput<typeof RegistriesConfigSchema>;

/** Reads the auth file and CA files named by the configuration (once: restart to pick up changes). */
export async function loadRegistryAccess(config: RegistriesConfig, allowInsecureHttp: boolean): Promise<RegistryAccess> {
  const credentials = config.authFile ? await loadAuthFile(config.authFile) : noCredentials;
  const cas: Record<string, string> = {};
  for (const [h, file] of Object.entries(config.caFiles)) {
    try {
      cas[h.toLowerCase()] = await readFile(file, "utf8");
    } catch (err) {
      throw new AgentError("CONFIG_INVALID", `registries.caFiles.${h}: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`, { file });
    }
  }
  const mirrors: Record<string, string[]> = {};
  for (const [h, urls] of Object.entries(config.mirrors)) {
    for (const u of urls) {
      try {
        checkRegistryUrl(new URL(u), allowInsecureHttp, `registries.mirrors.${h}`);
      } catch (err) {
        throw new AgentError("CONFIG_INVALID", (err as Error).message, { key: `registries.mirrors.${h}` });
      }
    }
    mirrors[h.toLowerCase()] = urls;
  }
  return { allowInsecureHttp, mirrors, cas, credentials };
}
