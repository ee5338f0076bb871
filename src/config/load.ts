/**
 * Loading the configuration: YAML file, then MARGO_AGENT_* environment variables,
 * then --set flags, validated once. Every error names the key, the bad value and
 * where it came from (file, variable or flag).
 */
import * as v from "valibot";
import YAML from "yaml";
import { AgentError } from "../errors/index.ts";
import { FileReadError, readRegularFile } from "../util/bounded-file.ts";
import { crossKeyProblems } from "./rules.ts";
import { type Config, ConfigSchema } from "./schema.ts";

export const DEFAULT_CONFIG_PATH = "/etc/margo-agent/config.yaml";
const ENV_PREFIX = "MARGO_AGENT_";
/** The shipped, fully commented file is ~6 KiB; a config near this bound is a mistake (or /dev/zero). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigSources {
  /** Path of the YAML file; undefined means defaults only. */
  file?: string;
  env?: Record<string, string | undefined>;
  /** "key.path=value" overrides from the command line. */
  sets?: string[];
}

/** Every leaf key of the schema, as dotted paths (wfm.url, poll.interval, …). */
export function configKeys(): string[] {
  const keys: string[] = [];
  const walk = (schema: unknown, prefix: string) => {
    let s = schema as { type?: string; wrapped?: unknown; entries?: Record<string, unknown> };
    while (s.wrapped) s = s.wrapped as typeof s;
    if (s.type === "strict_object" && s.entries) {
      for (const [k, child] of Object.entries(s.entries)) walk(child, prefix ? `${prefix}.${k}` : k);
    } else keys.push(prefix);
  };
  walk(ConfigSchema, "");
  return keys;
}

/** Leaf keys with no default anywhere on their path (wfm.url): a config without them is incomplete. */
export function requiredKeys(): string[] {
  const keys: string[] = [];
  const walk = (schema: unknown, prefix: string) => {
    const s = schema as { type?: string; entries?: Record<string, unknown> };
    // An optional (defaulted) key or section is never required, nor is anything below it.
    if (s.type === "optional" || s.type === "nullish") return;
    if (s.type === "strict_object" && s.entries) {
      for (const [k, child] of Object.entries(s.entries)) walk(child, prefix ? `${prefix}.${k}` : k);
    } else keys.push(prefix);
  };
  walk(ConfigSchema, "");
  return keys;
}

/** wfm.caFile → MARGO_AGENT_WFM_CA_FILE */
export function envNameFor(key: string): string {
  return ENV_PREFIX + key.replace(/\./g, "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Known keys beside `key` (same parent), for "did you mean" hints. */
function siblings(keys: string[], key: string): string[] {
  const parent = key.includes(".") ? key.slice(0, key.lastIndexOf(".") + 1) : "";
  return keys.filter((k) => k.startsWith(parent)).map((k) => k.slice(parent.length).split(".")[0]!).filter((k, i, a) => a.indexOf(k) === i);
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function getPath(target: unknown, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), target);
}

type SchemaNode = { type?: string; wrapped?: SchemaNode; entries?: Record<string, SchemaNode>; options?: (SchemaNode | string)[] };

/** The schema of one leaf key (wfm.clientId → its string schema), without optional/nullable wrappers. */
function leafSchema(key: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = ConfigSchema as unknown as SchemaNode;
  for (const part of key.split(".")) {
    while (node?.wrapped) node = node.wrapped;
    node = node?.entries?.[part];
  }
  while (node?.wrapped) node = node.wrapped;
  return node;
}

/** The scalar kinds a leaf takes: picklists and durations ("30s" or 30) take text. */
function acceptedKinds(node: SchemaNode | undefined): Set<string> {
  if (!node?.type) return new Set();
  if (node.type === "union") return new Set((node.options ?? []).flatMap((o) => [...acceptedKinds(typeof o === "string" ? undefined : o)]));
  if (node.type === "picklist") return new Set(["string"]);
  return new Set([node.type]);
}

/**
 * An environment variable's or flag's text, typed by what the key expects, not
 * by YAML's guesses: MARGO_AGENT_API_TOKEN=null is the string "null" (refused as
 * too short), not null (which silently turned the token off), and a clientId
 * 007 stays "007" (YAML made it the number 7). Numbers and booleans must be
 * written as such; lists and mappings are YAML flow text ("[sat, sun]").
 */
function typedValue(key: string, text: string): unknown {
  const kinds = acceptedKinds(leafSchema(key));
  if (kinds.has("string")) return text;
  if (kinds.has("boolean") && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === "true";
  if (kinds.has("number") && /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) return Number(text.trim());
  if (kinds.has("boolean") || kinds.has("number")) return text; // refused by the schema, quoting the text
  try {
    const parsed = YAML.parse(text, { maxAliasCount: 0 });
    return parsed === undefined ? text : parsed;
  } catch {
    return text;
  }
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readRegularFile(file, MAX_CONFIG_BYTES));
  } catch (err) {
    if (!(err instanceof FileReadError)) throw new AgentError("CONFIG_INVALID", `config: ${file} is not UTF-8 text`, { file });
    if (err.problem === "missing") throw new AgentError("CONFIG_NOT_FOUND", `config: cannot read ${file}: ENOENT`, { file });
    if (err.problem === "unreadable") throw new AgentError("CONFIG_NOT_FOUND", `config: ${err.message}`, { file });
    throw new AgentError("CONFIG_INVALID", `config: ${err.message}${err.problem === "too-large" ? " (a configuration is a few KiB)" : ""}`, { file });
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `${file}:${e.linePos[0].line}:${e.linePos[0].col}` : file;
    throw new AgentError("CONFIG_INVALID", `config: ${where}: invalid YAML: ${e.message.split("\n")[0]}`, { file });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new AgentError("CONFIG_INVALID", `config: ${file}: ${(err as Error).message}`, { file });
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new AgentError("CONFIG_INVALID", `config: ${file}: the top level must be a mapping of keys`, { file });
  }
  return value as Record<string, unknown>;
}

/** Where a missing key should have been: the file, or how to give one when none was read. */
function missingWhere(key: string, file: string | undefined): string {
  if (file) return `in ${file}`;
  return `no configuration file was read: ${DEFAULT_CONFIG_PATH} does not exist; pass --config FILE or set MARGO_AGENT_CONFIG, or give this key as ${envNameFor(key)} or --set ${key}=…`;
}

export interface LoadedConfig {
  config: Config;
  /** Where each key's value came from, for messages about it: the file, a variable or a flag. */
  sourceOf(key: string): string;
}

export function loadConfig(sources: ConfigSources): Config {
  return loadConfigWithSources(sources).config;
}

/**
 * The configuration, or AgentError CONFIG_INVALID listing every problem. The
 * schema and the rules across keys are the whole of what "valid" means: every
 * command, `config check` and `run` included, gets the same answer here.
 */
export function loadConfigWithSources(sources: ConfigSources): LoadedConfig {
  const raw: Record<string, unknown> = sources.file ? readYaml(sources.file) : {};
  const origin = new Map<string, string>(); // key → where its value came from, for error messages
  const keys = configKeys();
  const byEnv = new Map(keys.map((k) => [envNameFor(k), k]));
  const problems: string[] = [];

  for (const [name, value] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const key = byEnv.get(name);
    if (!key) {
      problems.push(`${name}: unknown variable; see 'margo-agent config keys' for the list`);
      continue;
    }
    setPath(raw, key, typedValue(key, value));
    origin.set(key, `environment variable ${name}`);
  }
  for (const item of sources.sets ?? []) {
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq) : "";
    if (!keys.includes(key)) {
      problems.push(`--set ${item}: unknown key ${JSON.stringify(key)}; see 'margo-agent config keys' for the list`);
      continue;
    }
    setPath(raw, key, typedValue(key, item.slice(eq + 1)));
    origin.set(key, `--set ${key}`);
  }

  const sourceOf = (key: string) => origin.get(key) ?? sources.file ?? "defaults";
  const result = v.safeParse(ConfigSchema, raw);
  if (!result.success) {
    for (const issue of result.issues) {
      const key = v.getDotPath(issue) ?? "(top level)";
      const where = sourceOf(key);
      const value = getPath(raw, key);
      // A strict_object issue is an unknown key, or a required section that is absent altogether.
      const known = keys.some((k) => k === key || k.startsWith(`${key}.`));
      if (!known) {
        problems.push(`${key}: unknown key (in ${where}); known keys here: ${siblings(keys, key).join(", ")}`);
      } else if (value === undefined) {
        const missing = requiredKeys().filter((k) => k === key || k.startsWith(`${key}.`));
        for (const k of missing.length ? missing : [key]) problems.push(`${k}: required but missing (${missingWhere(k, sources.file)})`);
      } else {
        problems.push(`${key}: ${JSON.stringify(value)} ${issue.message} (in ${where})`);
      }
    }
  }
  if (result.success && problems.length === 0) {
    for (const p of crossKeyProblems(result.output)) problems.push(`${p.key}: ${JSON.stringify(p.value)} ${p.message} (in ${sourceOf(p.key)})`);
  }
  if (problems.length > 0) {
    throw new AgentError("CONFIG_INVALID", `config: ${problems.join("; ")}`, { problems, file: sources.file });
  }
  return { config: (result as { output: Config }).output, sourceOf };
}
