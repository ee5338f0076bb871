/**
 * Registry credentials from a docker-style auth file (`config.json`: {"auths": {host: {"auth":
 * base64("user:password")}}}), the convention every OCI tool reads. The file must not be readable
 * by group or others: a world-readable credentials file is refused rather than used, so the
 * mistake is seen. Credential helpers (credsStore, credHelpers) would mean running programs and
 * are not supported; identity tokens (OAuth2 refresh) neither.
 */
import { readFile, stat } from "node:fs/promises";
import * as v from "valibot";
import { AgentError } from "../errors/index.ts";

export interface Credentials {
  username: string;
  password: string;
}

/** Credentials for a host[:port], or undefined (anonymous). */
export type CredentialLookup = (host: string) => Credentials | undefined;

export const noCredentials: CredentialLookup = () => undefined;

/** Bounds the file: a credentials file is a few hundred bytes. */
const MAX_AUTH_FILE_BYTES = 1 << 20;

const AuthFileSchema = v.object({
  auths: v.optional(
    v.record(
      v.string(),
      v.object({
        auth: v.optional(v.string()),
        username: v.optional(v.string()),
        password: v.optional(v.string()),
      }),
    ),
    {},
  ),
});

/** Reads and checks the file once; the lookup then answers from memory. */
export async function loadAuthFile(path: string, what = "registries.authFile"): Promise<CredentialLookup> {
  const table = await readAuthTable(path, what);
  return (host) => table.get(normaliseHost(host));
}

/** The auth file's credentials by host[:port]; refused unless it is the owner's alone. Credential helpers are not run. */
export async function readAuthTable(path: string, what = "registries.authFile"): Promise<Map<string, Credentials>> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new AgentError("CONFIG_INVALID", `${what}: ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`, { file: path });
  }
  if (!info.isFile()) throw new AgentError("CONFIG_INVALID", `${what}: ${path} is not a regular file`, { file: path });
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new AgentError("CONFIG_INVALID", `${what}: ${path} is mode ${mode}; it holds registry credentials and must be readable by its owner only (chmod 600 ${path})`, { file: path });
  }
  if (info.size > MAX_AUTH_FILE_BYTES) throw new AgentError("CONFIG_INVALID", `${what}: ${path} is larger than ${MAX_AUTH_FILE_BYTES} bytes`, { file: path });
  let parsed: v.InferOutput<typeof AuthFileSchema>;
  try {
    parsed = v.parse(AuthFileSchema, JSON.parse(await readFile(path, "utf8")));
  } catch {
    // The parser's message could quote the file's content: never repeat it.
    throw new AgentError("CONFIG_INVALID", `${what}: ${path} is not a docker config.json ({"auths": {"host": {"auth": "base64(user:password)"}}})`, { file: path });
  }
  const table = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(parsed.auths)) {
    const creds = decodeEntry(entry);
    if (creds) table.set(normaliseHost(key), creds);
  }
  return table;
}

function decodeEntry(entry: { auth?: string; username?: string; password?: string }): Credentials | undefined {
  if (entry.auth) {
    const text = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = text.indexOf(":");
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
    return undefined;
  }
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * Keys appear as "host", "host:port", "https://host/v1/" and the like: reduce to host[:port].
 * Docker Hub's names all mean one registry.
 */
export function normaliseHost(key: string): string {
  let h = key.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  const slash = h.indexOf("/");
  if (slash !== -1) h = h.slice(0, slash);
  if (h.endsWith(":443")) h = h.slice(0, -4);
  if (h === "docker.io" || h === "registry-1.docker.io" || h === "index.docker.io") return "index.docker.io";
  return h;
}
