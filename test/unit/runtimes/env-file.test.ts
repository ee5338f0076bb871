import { describe, expect, test } from "bun:test";
import { checkParameters, encodeV1, encodeV2, envFileText, parsePackageDotEnv } from "../../../runtimes/shared/env-file.ts";
import { AgentError } from "../../../src/errors/index.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return `${(e as AgentError).code}: ${(e as AgentError).message}`;
  }
}

/** Values that change meaning if an env file is written carelessly. */
const NASTY = [
  "plain",
  "",
  " leading and trailing ",
  "with # hash",
  "#start",
  "a\nb\nPRIVILEGED=true",
  "cr\rlf\r\n",
  "dollar $HOME and ${HOME} and $$ and ${X:-y}",
  "${",
  "$",
  "trailing $",
  'double "quotes" inside',
  '"',
  "single 'quotes' inside",
  "'",
  "back\\slash",
  "\\",
  "ends with backslash\\",
  "two at the end\\\\",
  '\\"',
  "\\n literally",
  "\\0134",
  "${:-\\}",
  "tab\there",
  "unicode ✓ 🚀 \u0085 \u00a0 \u2028",
  '{"json": ["a", 1, null], "k": "v\\"w"}',
  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
];

// --- compose-go's dotenv parser, ported for the test (two behaviours seen across versions) ---

const ESCAPE_SEQ = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;

function goExpandEscapes(s: string): string {
  return s.replace(ESCAPE_SEQ, (m) => {
    if (m === "\\$") return "$$";
    let seq = m;
    if (seq.startsWith("\\0")) seq = `\\${seq.slice(2)}`;
    const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", '"': '"', "\\": "\\" };
    if (seq.length === 2 && simple[seq[1]!] !== undefined) return simple[seq[1]!]!;
    if (/^\\[0-7]{3}$/.test(seq)) return String.fromCharCode(Number.parseInt(seq.slice(1), 8));
    return m; // strconv.UnquoteChar refuses it: the match stays as written
  });
}

/** compose-go template.Substitute, enough to see any unintended expansion. */
function goSubstitute(s: string, env: Record<string, string>): string {
  return s.replace(/\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([^}]*)\})/gi, (_m, esc, named, braced: string | undefined) => {
    if (esc) return "$";
    const name = named ?? /^[_a-z][_a-z0-9]*/i.exec(braced ?? "")?.[0] ?? "";
    return env[name] ?? "";
  });
}

type GoVariant = "terminator-checks-previous-char" | "escape-aware-scan";

function composeGoParse(text: string, variant: GoVariant, env: Record<string, string> = { HOME: "/root", X: "x" }): Record<string, string> {
  const out: Record<string, string> = {};
  let src = text;
  for (;;) {
    src = src.replace(/^\s+/, "");
    if (!src) return out;
    if (src[0] === "#") {
      const nl = src.indexOf("\n");
      if (nl < 0) return out;
      src = src.slice(nl);
      continue;
    }
    const m = /^([A-Za-z0-9_.\-[\]]+)\s*=\s*/.exec(src);
    if (!m) throw new Error(`unexpected: ${src.slice(0, 20)}`);
    src = src.slice(m[0].length);
    const q = src[0];
    if (q !== '"') throw new Error("the agent only writes double-quoted values");
    let raw: string | undefined;
    let rest = "";
    if (variant === "terminator-checks-previous-char") {
      for (let i = 1; i < src.length; i++) {
        if (src[i] !== q || src[i - 1] === "\\") continue;
        raw = src.slice(1, i);
        rest = src.slice(i + 1);
        break;
      }
    } else {
      let esc = false;
      let chars = "";
      for (let i = 1; i < src.length; i++) {
        const c = src[i]!;
        if (esc) {
          esc = false;
          if (c !== q) chars += "\\";
          chars += c;
          continue;
        }
        if (c === "\\") esc = true;
        else if (c === q) {
          raw = chars;
          rest = src.slice(i + 1);
          break;
        } else chars += c;
      }
    }
    if (raw === undefined) throw new Error("unterminated quoted value");
    out[m[1]!] = goSubstitute(goExpandEscapes(raw), { ...env, ...out });
    src = rest;
  }
}

// --- python-dotenv 0.21 (docker-compose 1.29), ported the same way; the real tool is in test/integration/hardening ---

function pythonDotenvParse(text: string, env: Record<string, string> = { HOME: "/root", X: "x" }): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /[ \t]*(?:#[^\n]*|([^=#\s]+)="((?:\\"|[^"])*)"[ \t]*)(?:\n|$)/gy;
  let m: RegExpExecArray | null;
  const s = text.replace(/\r\n?/g, "\n"); // Python reads text files with universal newlines
  while (re.lastIndex < s.length && (m = re.exec(s))) {
    if (!m[1]) continue;
    const decoded = m[2]!.replace(/\\[\\'"abfnrtv]/g, (e) => ({ "\\\\": "\\", "\\'": "'", '\\"': '"', "\\a": "\x07", "\\b": "\b", "\\f": "\f", "\\n": "\n", "\\r": "\r", "\\t": "\t", "\\v": "\v" })[e]!);
    const scope = { ...env, ...out };
    out[m[1]] = decoded.replace(/\$\{([^}:]*)(?::-([^}]*))?\}/g, (_x, name: string, def: string | undefined) => scope[name] ?? def ?? "");
  }
  if (re.lastIndex < s.length) throw new Error(`python-dotenv could not parse from ${re.lastIndex}`);
  return out;
}

describe("the env file reads back exactly", () => {
  const vars = Object.fromEntries(NASTY.map((v, i) => [`V${i}`, v]));

  for (const variant of ["terminator-checks-previous-char", "escape-aware-scan"] as GoVariant[]) {
    test(`Docker Compose v2 (compose-go, ${variant})`, () => {
      expect(composeGoParse(envFileText(vars, "v2"), variant)).toEqual(vars);
      // one value per file too: nothing leaks into a following line
      for (const v of NASTY) expect(composeGoParse(envFileText({ A: v, B: "after" }, "v2"), variant)).toEqual({ A: v, B: "after" });
    });
  }

  test("docker-compose v1 (python-dotenv 0.21)", () => {
    expect(pythonDotenvParse(envFileText(vars, "v1"))).toEqual(vars);
    for (const v of NASTY) expect(pythonDotenvParse(envFileText({ A: v, B: "after" }, "v1"))).toEqual({ A: v, B: "after" });
  });

  test("one line per variable, no raw newline or quote escapes it", () => {
    for (const kind of ["v1", "v2"] as const) {
      const text = envFileText(vars, kind);
      expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toHaveLength(NASTY.length);
    }
    expect(encodeV2("a\\")).toBe("a\\0134");
    expect(encodeV1("${X}\\")).toBe("${:-$}{X}${:-\\}");
  });
});

describe("parameter names", () => {
  const tool = new Set(["PATH", "HOME", "DOCKER_HOST"]);
  test("plain names are fine, whatever a program would make of them in its environment", () => {
    for (const name of ["PYTHONPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "NODE_OPTIONS", "SSL_CERT_FILE", "BASH_ENV", "_x1"]) {
      expect(codeOf(() => checkParameters({ [name]: "v" }, tool, "component web"))).toBe("ok");
    }
  });

  const refused: [string, string][] = [
    ["LD.PRELOAD", "not a compose variable name"],
    ["a-b", "not a compose variable name"],
    ["1X", "not a compose variable name"],
    ["X Y", "not a compose variable name"],
    ["X=Y", "not a compose variable name"],
    ["DOCKER_HOST", "DOCKER_* and COMPOSE_*"],
    ["COMPOSE_FILE", "DOCKER_* and COMPOSE_*"],
    ["compose_profiles", "DOCKER_* and COMPOSE_*"],
    ["PATH", "the compose tool's own environment sets it"],
    ["HOME", "the compose tool's own environment sets it"],
  ];
  for (const [name, why] of refused) {
    test(`${JSON.stringify(name)} is refused as DEPLOYMENT_INVALID`, () => {
      const v = codeOf(() => checkParameters({ [name]: "v" }, tool, "component web"));
      expect(v).toStartWith("DEPLOYMENT_INVALID: component web: parameter pointer");
      expect(v).toContain(why);
    });
  }

  test("a value no env file can carry is refused", () => {
    expect(codeOf(() => checkParameters({ A: "a\u0000b" }, tool, "c"))).toContain("NUL");
    expect(codeOf(() => checkParameters({ A: "\ud800" }, tool, "c"))).toContain("surrogate");
  });
});

describe("the package's .env", () => {
  const parse = (text: string, lookup: Record<string, string> = {}) => parsePackageDotEnv(text, lookup, "package .env");

  test("is read as Docker Compose reads it: inline comments, quotes, export, expansion", () => {
    expect(parse("PRIV=true # comment\n")).toEqual({ PRIV: "true" });
    expect(parse("# c\nA=1\nexport B='two # not a comment'\n\nC = \"3\\n4\"   # c\nD=x#y\n")).toEqual({ A: "1", B: "two # not a comment", C: "3\n4", D: "x#y" });
    expect(parse("A=1\nB=${A}-$A-${NOPE:-d}-${P}\nC='${A}'\nD=\"\\$A $$A\"\n", { P: "param" })).toEqual({ A: "1", B: "1-1-d-param", C: "${A}", D: "$A $A" });
    expect(parse("M='multi\nline'\nN=\"a\\\"b\"\nO=\"ends\\\\\"\n")).toEqual({ M: "multi\nline", N: 'a"b', O: "ends\\" });
    expect(parse("\uFEFFA=1\r\nB=2\r\n")).toEqual({ A: "1", B: "2" });
    expect(parse("JUSTKEY\nA=1\n")).toEqual({ A: "1" });
  });

  test("a key that would configure the compose tool is COMPOSE_POLICY_DENIED", () => {
    for (const line of ["DOCKER_HOST=tcp://evil:2375", "COMPOSE_FILE=/etc/x.yaml", "export COMPOSE_PROFILES=all", "docker_host=x"]) {
      expect(codeOf(() => parse(`A=1\n${line}\n`))).toStartWith("COMPOSE_POLICY_DENIED: package .env, line 2:");
    }
  });

  test("what it cannot read is COMPOSE_INVALID, naming the line", () => {
    expect(codeOf(() => parse("A=1\nB='open\n"))).toStartWith("COMPOSE_INVALID: package .env, line 2:");
    expect(codeOf(() => parse("A.B=1\n"))).toContain("not a compose variable name");
    expect(codeOf(() => parse('A="x" junk\n'))).toContain("unexpected text");
    expect(codeOf(() => parse("A=${B\n"))).toContain("without a closing");
  });
});
