/**
 * A strict parser for the Prometheus text exposition format 0.0.4, for tests:
 * it throws on anything a scraper would reject or silently misread (bad names,
 * bad escapes, samples before their TYPE, a family split in two, duplicate
 * series, summary/histogram samples with the wrong suffix or missing labels,
 * no final newline). Own code: the npm parsers are unmaintained or lenient.
 */
export type MetricType = "counter" | "gauge" | "summary" | "histogram" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "summary", "histogram", "untyped"]);

function parseValue(text: string, line: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${line}: invalid value ${JSON.stringify(text)}`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` starting at text[0] === "{"; returns the labels and the rest. */
function parseLabels(text: string, line: number): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`line ${line}: label without '='`);
    const name = text.slice(i, eq).trim();
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: invalid label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`line ${line}: label ${name} given twice`);
    if (text[eq + 1] !== '"') throw new Error(`line ${line}: label ${name} value not quoted`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const ch = text[j];
      if (ch === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (ch === '"') break;
      if (ch === "\\") {
        const next = text[++j];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`line ${line}: invalid escape \\${next ?? ""} in label ${name}`);
      } else value += ch;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`line ${line}: expected ',' or '}' after label ${name}`);
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ["_bucket", "_sum", "_count", ""]) {
    if (!sampleName.endsWith(suffix)) continue;
    const f = families.get(sampleName.slice(0, sampleName.length - suffix.length));
    if (!f) continue;
    if (suffix === "") return f;
    if (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket")) return f;
  }
  return undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: Family | undefined;
  const lines = text.split("\n").slice(0, -1);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    if (raw.trim() === "") return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name, rest = ""] = meta;
      if (!METRIC_NAME.test(name!)) throw new Error(`line ${line}: invalid metric name ${JSON.stringify(name)}`);
      if (closed.has(name!)) throw new Error(`line ${line}: family ${name} appears twice`);
      let f = families.get(name!);
      if (f && f !== current) throw new Error(`line ${line}: family ${name} is split`);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name: name!, type: "untyped", samples: [] };
        families.set(name!, f);
        current = f;
      }
      if (kind === "TYPE") {
        if (f.samples.length) throw new Error(`line ${line}: TYPE of ${name} after its samples`);
        if ((f as Family & { typed?: boolean }).typed) throw new Error(`line ${line}: second TYPE for ${name}`);
        if (!TYPES.has(rest.trim() as MetricType)) throw new Error(`line ${line}: unknown type ${JSON.stringify(rest)}`);
        f.type = rest.trim() as MetricType;
        (f as Family & { typed?: boolean }).typed = true;
      } else {
        if (f.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        if (/\\(?![\\n])/.test(rest)) throw new Error(`line ${line}: invalid escape in HELP`);
        f.help = rest.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      return;
    }
    if (raw.startsWith("#")) return; // other comments are allowed
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(raw);
    if (!m) throw new Error(`line ${line}: not a sample: ${JSON.stringify(raw)}`);
    const name = m[1]!;
    let rest = m[2]!;
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) throw new Error(`line ${line}: expected 'name{labels} value [timestamp]'`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: invalid timestamp`);
    let f = familyOf(name, families);
    if (!f) {
      // An untyped sample without metadata starts its own family.
      if (current) closed.add(current.name);
      if (closed.has(name)) throw new Error(`line ${line}: family ${name} is split`);
      f = { name, type: "untyped", samples: [] };
      families.set(name, f);
    }
    if (f !== current && current?.name !== f.name) {
      if (closed.has(f.name)) throw new Error(`line ${line}: family ${f.name} is split`);
      if (current) closed.add(current.name);
    }
    current = f;
    if (f.type === "summary" && name === f.name && !("quantile" in labels)) throw new Error(`line ${line}: summary sample ${name} without a quantile label`);
    if (f.type === "histogram" && name === `${f.name}_bucket` && !("le" in labels)) throw new Error(`line ${line}: histogram bucket without le`);
    if (f.type === "histogram" && name === f.name) throw new Error(`line ${line}: histogram sample needs _bucket, _sum or _count`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`line ${line}: duplicate series ${key}`);
    seen.add(key);
    f.samples.push({ name, labels, value });
  });
  return families;
}
