/**
 * The model compose will run, rendered by the compose tool itself
 * (`docker-compose config` for v1, `docker compose config --format json` for
 * v2) with the same env file, files, project and working directory as `up`.
 * The compose policy (src/packages/compose-policy.ts) judges this model, so
 * merge keys, `extends`, `.env` values and interpolation are read once, by
 * compose.
 *
 * Rendering reads files: the compose files, what `extends` and `env_file`
 * name, and the env file. Before the tool runs, checkRenderInputs makes sure
 * every file it would read while rendering is the package's own, so a package
 * cannot have host files (say /etc/shadow) read into the model or quoted in
 * an error message that goes to the WFM.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, normalize, resolve, sep } from "node:path";
import YAML from "yaml";
import { AgentError } from "../../src/errors/index.ts";
import { type HostFs, hostFs } from "../../src/packages/compose-policy.ts";
import type { Platform } from "../../src/platform/types.ts";
import { type ComposeTool, composeArgv } from "./compose-tool.ts";
import { toolFailure } from "./failures.ts";

/** Aliases in compose files and in v1's rendered YAML (PyYAML writes one per shared object). */
const MAX_ALIASES = 1000;
const MAX_FILES = 50;

/**
 * Refuses (COMPOSE_POLICY_DENIED) a compose file that would make the tool read
 * anything outside the package while rendering: `extends.file`, `env_file`,
 * `label_file` must be literal paths (no variables) inside `projectDir`, after
 * following symlinks; `include` is not supported. Follows `extends` into the
 * files it names. Every mapping at any depth is looked at, so YAML merge keys
 * and anchors cannot hide a key. COMPOSE_INVALID for YAML compose could not read.
 */
export function checkRenderInputs(composeFile: string, projectDir: string, what: string, host: HostFs = hostFs): void {
  const root = host.realpath(projectDir);
  const deny = (where: string, why: string): never => {
    throw new AgentError("COMPOSE_POLICY_DENIED", `${what}: ${where}: ${why}`, { where });
  };
  const inside = (where: string, raw: unknown, baseDir: string): string => {
    const path = typeof raw === "string" || typeof raw === "number" ? String(raw) : null;
    if (path === null) deny(where, "must be a path");
    if (path!.includes("$")) deny(where, `${JSON.stringify(path)}: the compose tool reads this file while rendering, so the path must be literal (no variables)`);
    if (path!.startsWith("~") || /^[a-z][a-z0-9+.-]*:/i.test(path!)) deny(where, `${JSON.stringify(path)}: only the package's own files may be read`);
    // Compose resolves some of these against the file that names them, others against the project: both must stay inside.
    const candidates = isAbsolute(path!) ? [normalize(path!)] : [resolve(baseDir, path!), resolve(projectDir, path!)];
    for (const c of candidates) {
      const real = host.realpath(c);
      if (real !== root && !real.startsWith(root + sep)) deny(where, `${c} is outside the package; only the package's own files may be read`);
    }
    return candidates[0]!;
  };

  const queue = [composeFile];
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    const real = host.realpath(file);
    if (seen.has(real)) continue;
    seen.add(real);
    if (seen.size > MAX_FILES) deny(file, `more than ${MAX_FILES} compose files through extends`);
    const doc = parseComposeSource(file, what);
    const base = dirname(file);
    const at = (path: string) => (file === composeFile ? path : `${file}: ${path}`);
    if (isRecord(doc) && doc.include !== undefined) deny(at("include"), "include is not supported: the agent labels and checks the services of the package's own compose file");
    walk(doc, "", (path, map) => {
      for (const key of ["env_file", "label_file"]) {
        if (map[key] === undefined || map[key] === null) continue;
        const items = Array.isArray(map[key]) ? (map[key] as unknown[]) : [map[key]];
        items.forEach((item, i) => inside(at(`${path}${key}.${i}`), isRecord(item) ? item.path : item, base));
      }
      const ext = map.extends;
      if (isRecord(ext) && ext.file !== undefined) queue.push(inside(at(`${path}extends.file`), ext.file, base));
    });
  }
}

/** Reads and parses one compose source file strictly (unique keys, merge keys, bounded aliases). */
export function parseComposeSource(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new AgentError("COMPOSE_INVALID", `${what}: compose file ${file} cannot be read: ${(err as Error).message}`, { where: file });
  }
  try {
    return YAML.parse(text, { merge: true, uniqueKeys: true, maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new AgentError("COMPOSE_INVALID", `${what}: compose file ${file} is not valid YAML: ${(err as Error).message.split("\n")[0]}`, { where: file });
  }
}

function walk(node: unknown, path: string, visit: (path: string, map: Record<string, unknown>) => void, seen = new Set<unknown>()): void {
  if (typeof node !== "object" || node === null || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    node.forEach((n, i) => walk(n, `${path}${i}.`, visit, seen));
    return;
  }
  const map = node as Record<string, unknown>;
  visit(path, map);
  for (const [k, v] of Object.entries(map)) walk(v, `${path}${k}.`, visit, seen);
}

export interface RenderOptions {
  run: Platform["run"];
  tool: ComposeTool;
  project: string;
  files: string[];
  envFile: string;
  env: Record<string, string>;
  cwd: string;
  signal: AbortSignal;
  timeoutMs: number;
  what: string;
}

export function renderArgv(tool: ComposeTool, project: string, files: string[], envFile: string): string[] {
  return composeArgv(tool, project, files, tool.kind === "v2" ? ["config", "--format", "json"] : ["config"], envFile);
}

/** Runs the tool's `config` and returns the model it rendered ($$ escapes undone). COMPOSE_INVALID when it refuses the files. */
export async function renderCompose(o: RenderOptions): Promise<unknown> {
  const argv = renderArgv(o.tool, o.project, o.files, o.envFile);
  const r = await o.run(argv, { env: o.env, cwd: o.cwd, signal: o.signal, timeoutMs: o.timeoutMs });
  if (r.code !== 0) {
    const err = toolFailure(r, argv, `${o.what}: rendering the compose model`, "COMPOSE_INVALID");
    // `config` talks to no engine: whatever else it says, the files are what it refused.
    if (err.code === "ENGINE_NOT_FOUND" || err.code === "COMPOSE_INVALID" || r.killed) throw err;
    throw new AgentError("COMPOSE_INVALID", err.message, { exitCode: r.code });
  }
  let model: unknown;
  try {
    // v1 prints YAML 1.1 (PyYAML); v2 prints JSON.
    model = o.tool.kind === "v2" ? JSON.parse(r.stdout) : YAML.parse(r.stdout, { version: "1.1", maxAliasCount: MAX_ALIASES });
  } catch (err) {
    throw new AgentError("COMPOSE_INVALID", `${o.what}: the compose tool's rendered model cannot be read: ${(err as Error).message.split("\n")[0]}`);
  }
  return undollar(model);
}

/** Both tools print every `$` of the model as `$$` (so the output could be fed back); the model has one. */
export function undollar(v: unknown): unknown {
  if (typeof v === "string") return v.replaceAll("$$", "$");
  if (Array.isArray(v)) return v.map(undollar);
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replaceAll("$$", "$"), undollar(x)]));
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

