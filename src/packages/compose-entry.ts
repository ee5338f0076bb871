/** Recognising what a package is, by its bytes, and where its compose file lives. */
import { parse } from "yaml";
import type { ArchiveEntry } from "../archive/index.ts";
import { AgentError } from "../errors/index.ts";

/** Compose's own file-name preference order. */
export const COMPOSE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The compose file of an unpacked package: at the root, or inside the single
 * top-level folder everything sits in. Throws PACKAGE_INVALID otherwise.
 */
export function findComposeEntry(entries: ArchiveEntry[], what: string): string {
  const paths = new Set(entries.map((e) => e.path));
  for (const name of COMPOSE_NAMES) if (paths.has(name)) return name;
  const tops = new Set(entries.map((e) => e.path.split("/")[0]));
  if (tops.size === 1) {
    const [top] = tops;
    for (const name of COMPOSE_NAMES) if (paths.has(`${top}/${name}`)) return `${top}/${name}`;
  }
  throw new AgentError("PACKAGE_INVALID", `${what}: the archive holds no ${COMPOSE_NAMES.join(", ")} at its root or in a single top-level folder`);
}

/** A non-gzip package must be a compose file: YAML text whose top level is a mapping. */
export function checkComposeText(bytes: Uint8Array, what: string): void {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new AgentError("PACKAGE_INVALID", `${what}: neither a gzip-compressed tar nor UTF-8 text (a compose file)`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new AgentError("PACKAGE_INVALID", `${what}: neither a .tar.gz nor a YAML compose file (${(err as Error).message.split("\n")[0]})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new AgentError("PACKAGE_INVALID", `${what}: neither a .tar.gz nor a compose file (the YAML is not a mapping)`);
  }
}
