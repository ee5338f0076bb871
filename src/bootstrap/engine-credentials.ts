/**
 * Registry credentials for the engine's own image pulls. The compose tool
 * reads them from $DOCKER_CONFIG/config.json and hands them to the engine
 * (Docker, or Podman through its Docker-compatible API) with each pull. We
 * write that file from registries.authFile, in the data dir, 0600, with
 * `auths` only: no credential helpers, which would run programs. Credentials
 * reach the engine as a file, never through the compose tool's environment or
 * a command line (docs/protocol.md §9).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { readAuthTable } from "../oci/auth-file.ts";
import { writeFileAtomic } from "../util/atomic-file.ts";

/** The directory to set as DOCKER_CONFIG, or undefined when no auth file is configured. */
export async function engineCredentialsDir(config: Config): Promise<string | undefined> {
  if (!config.registries.authFile) return undefined;
  const table = await readAuthTable(config.registries.authFile);
  const auths: Record<string, { auth: string }> = {};
  for (const [host, c] of table) auths[host] = { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") };
  const dir = join(config.dataDir, "run", "engine-auth");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, "config.json"), JSON.stringify({ auths }), 0o600);
  return dir;
}
