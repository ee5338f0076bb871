/**
 * Parameters reach compose as interpolation variables only, through an env
 * file the agent writes and passes with `--env-file`; they never become the
 * compose tool's process environment (where PYTHONPATH, LD_PRELOAD, … would
 * run code on the host). The package's own `.env` is read here too and merged
 * under the parameters, because `--env-file` replaces it for the tool.
 *
 * The file is written in the syntax of the tool that reads it, so that every
 * value reads back exactly (newlines, `#`, `$`, quotes, backslashes):
 * - docker-compose v1 reads it with python-dotenv 0.x, which expands `${…}` in
 *   every value, quoted or not, and has no escape for `$`: a literal `${` is
 *   written `${:-$}{` and a backslash `${:-\}` (an empty, never-set name with
 *   the character as its default), a quote `\"`, CR and LF `\r` and `\n`.
 * - Docker Compose v2 reads it with compose-go's dotenv parser: `\\`, `\"`,
 *   `\n`, `\r` and `$$`; a backslash just before the closing quote is written
 *   as the octal escape `\0134`, because some compose-go versions end a quoted
 *   value only at a quote not preceded by a backslash.
 * Tests: test/unit/runtimes/env-file.test.ts (both syntaxes, v2 through a port
 * of compose-go's parser) and test/integration/hardening/compose-env-file.test.ts
 * (v1 through the real docker-compose).
 */
import { AgentError } from "../../src/errors/index.ts";
import type { ComposeToolKind } from "./compose-tool.ts";

/** A compose interpolation variable name: what both compose versions accept in `${…}`. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** compose reads these from its env file as its own settings (engine address, files, profiles, …). */
const TOOL_SETTING = /^(DOCKER|COMPOSE)_/i;

/**
 * Refuses parameter names compose could not use, or would take as its own
 * settings, or whose value the tool's own environment would override
 * (`toolEnvKeys`: compose lets its process environment win over the env file).
 * Any other plain name is safe: it is only ever written into the env file.
 */
export function checkParameters(params: Readonly<Record<string, string>>, toolEnvKeys: ReadonlySet<string>, what: string): void {
  for (const [name, value] of Object.entries(params)) {
    const bad = (why: string): never => {
      throw new AgentError("DEPLOYMENT_INVALID", `${what}: parameter pointer ${JSON.stringify(name)} ${why}`, { parameter: name });
    };
    if (!VARIABLE_NAME.test(name)) bad("is not a compose variable name (letters, digits and _, not starting with a digit)");
    if (TOOL_SETTING.test(name)) bad("is reserved: compose reads DOCKER_* and COMPOSE_* as settings of the tool itself");
    if (toolEnvKeys.has(name)) bad("is reserved: the compose tool's own environment sets it, so the parameter could never take effect");
    checkValue(value, () => bad("has a value with a NUL character or an unpaired surrogate, which no env file can carry"));
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkValue(value: string, fail: () => never): void {
  if (value.includes("\u0000") || LONE_SURROGATE.test(value)) fail();
}

/**
 * Reads a package's `.env` the way Docker Compose v2 does, for the common
 * syntax: `KEY=value` lines, `export KEY=value`, `#` comment lines, unquoted
 * values ending at ` #` (an inline comment) with surrounding blanks removed,
 * single-quoted values taken literally, double-quoted values with `\n \r \t \\ \" \$`
 * escapes; unquoted and double-quoted values expand `$NAME`, `${NAME}`,
 * `${NAME:-default}` and `${NAME-default}` from `lookup` and the lines above,
 * and `$$` is a literal `$`. A line with a key and no `=` is skipped.
 * Throws COMPOSE_INVALID for what it cannot read, and COMPOSE_POLICY_DENIED for a
 * key that would configure the compose tool itself.
 */
export function parsePackageDotEnv(text: string, lookup: Readonly<Record<string, string>>, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  const src = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  let i = 0;
  let line = 1;
  const fail = (why: string): never => {
    throw new AgentError("COMPOSE_INVALID", `${where}, line ${line}: ${why}`, { where });
  };
  const advance = (to: number) => {
    for (let k = i; k < to; k++) if (src[k] === "\n") line++;
    i = to;
  };
  while (i < src.length) {
    // Blank space, comment lines.
    const ws = /^[ \t\f\v\n]*/.exec(src.slice(i))![0];
    advance(i + ws.length);
    if (i >= src.length) break;
    if (src[i] === "#") {
      const nl = src.indexOf("\n", i);
      advance(nl < 0 ? src.length : nl);
      continue;
    }
    const head = /^(?:export[ \t]+)?([^\s=#]+)[ \t]*(=?)[ \t]*/.exec(src.slice(i));
    if (!head) fail("expected KEY=value");
    const key = head![1]!;
    if (!VARIABLE_NAME.test(key)) fail(`${JSON.stringify(key)} is not a compose variable name`);
    if (TOOL_SETTING.test(key)) {
      throw new AgentError("COMPOSE_POLICY_DENIED", `${where}, line ${line}: ${key} would configure the compose tool itself (DOCKER_* and COMPOSE_* are not allowed in a package's .env)`, { where });
    }
    advance(i + head![0].length);
    if (!head![2]) {
      // "KEY" alone: compose takes it from the environment; the agent gives it nothing.
      const nl = src.indexOf("\n", i);
      if (src.slice(i, nl < 0 ? undefined : nl).trim() !== "") fail(`expected "=" after ${key}`);
      continue;
    }
    const env = { ...lookup, ...out };
    const quote = src[i];
    let value: string;
    if (quote === "'" || quote === '"') {
      let j = i + 1;
      let raw = "";
      for (; j < src.length; j++) {
        const c = src[j]!;
        if (c === "\\" && j + 1 < src.length && (src[j + 1] === quote || src[j + 1] === "\\")) {
          // An escaped quote does not end the value; an escaped backslash does not escape the quote after it.
          raw += src[j + 1] === quote && quote === "'" ? "'" : c + src[j + 1];
          j++;
          continue;
        }
        if (c === quote) break;
        raw += c;
      }
      if (j >= src.length) fail(`the value of ${key} has no closing ${quote}`);
      value = quote === "'" ? raw : expand(unescapeDouble(raw), env, () => fail(`the value of ${key} has a "\${" without a closing "}"`));
      advance(j + 1);
      const rest = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(src.slice(i));
      if (!rest) fail(`unexpected text after the quoted value of ${key}`);
    } else {
      const nl = src.indexOf("\n", i);
      const rawLine = src.slice(i, nl < 0 ? undefined : nl);
      const cut = rawLine.indexOf(" #");
      value = expand((cut < 0 ? rawLine : rawLine.slice(0, cut)).trimEnd(), env, () => fail(`the value of ${key} has a "\${" without a closing "}"`));
      advance(nl < 0 ? src.length : nl);
    }
    checkValue(value, () => fail(`the value of ${key} holds a NUL character`));
    out[key] = value;
  }
  return out;
}

/** Double-quoted escapes; `\$` becomes `$$` so that expand() keeps it literal. */
function unescapeDouble(raw: string): string {
  return raw.replace(/\\([nrt"\\$])/g, (_m, c: string) => ({ n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$$" })[c]!);
}

function expand(text: string, env: Readonly<Record<string, string>>, unclosed: () => never): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "$") {
      out += c;
      continue;
    }
    if (text[i + 1] === "$") {
      out += "$";
      i++;
      continue;
    }
    if (text[i + 1] === "{") {
      const end = text.indexOf("}", i + 2);
      if (end < 0) unclosed();
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/s.exec(text.slice(i + 2, end));
      if (!m) {
        out += text.slice(i, end + 1);
      } else {
        const v = env[m[1]!];
        out += m[2] === ":-" ? (v ? v : (m[3] ?? "")) : m[2] === "-" ? (v !== undefined ? v : (m[3] ?? "")) : (v ?? "");
      }
      i = end;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out += env[bare[0]] ?? "";
      i += bare[0].length;
    } else {
      out += "$";
    }
  }
  return out;
}

const HEADER = "# Written by margo-agent for compose interpolation only; regenerated on every apply.\n";

/** The env file text for `vars`, in the syntax of the tool that reads it. Names must be VARIABLE_NAME. */
export function envFileText(vars: Readonly<Record<string, string>>, kind: ComposeToolKind): string {
  const encode = kind === "v1" ? encodeV1 : encodeV2;
  return HEADER + Object.entries(vars).map(([k, v]) => `${k}="${encode(v)}"\n`).join("");
}

/** python-dotenv 0.x (docker-compose 1.x): see the file comment. */
export function encodeV1(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\") out += "${:-\\}";
    else if (c === '"') out += '\\"';
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "$" && value[i + 1] === "{") out += "${:-$}";
    else out += c;
  }
  return out;
}

/** compose-go dotenv (Docker Compose 2.x): see the file comment. */
export function encodeV2(value: string): string {
  let out = "";
  for (const c of value) {
    if (c === "\\") out += "\\\\";
    else if (c === '"') out += '\\"';
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "$") out += "$$";
    else out += c;
  }
  // Only a trailing backslash encodes to a "\\" right before the closing quote.
  return value.endsWith("\\") ? `${out.slice(0, -2)}\\0134` : out;
}
