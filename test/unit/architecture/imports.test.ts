/**
 * The import direction of docs/architecture.md, "Layers": every module (a folder
 * under src/, or runtimes/) imports only modules of its own layer or below,
 * modules never import each other in a cycle, runtimes/ sees only the kernel it
 * is given, and src/ reaches runtime adapters only through runtimes/types.ts
 * except at the composition root (src/bootstrap, src/cli). The checker is a
 * pure function; the last tests feed it a deliberate cycle and an upward import
 * to show that it would fail.
 *
 * Invariants held here (docs/architecture.md): INV-LAYER-1.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");

/** Lowest first. Keep in step with docs/architecture.md, "Layers". */
export const LAYERS: readonly (readonly string[])[] = [
  ["src/errors", "src/util", "src/build-info.ts", "src/log.ts"],
  ["src/model", "src/platform"],
  ["src/protocol", "src/http-signatures", "src/archive", "src/schedule"],
  ["src/identity", "src/trust", "src/deployment", "src/lifecycle", "src/packages", "src/oci"],
  ["src/journal", "src/store", "src/config"],
  ["runtimes"],
  ["src/reconcile", "src/sync", "src/gitops", "src/onboarding", "src/capabilities"],
  ["src/agent"],
  ["src/api", "src/bootstrap"],
  ["src/devwfm", "src/simulate", "src/cli"],
  ["src/cli.ts"],
];

/** What runtime adapters may use of src/: the kernel, the model, the platform seam, the compose policy. */
const RUNTIMES_MAY_USE = new Set(["src/errors", "src/util", "src/model", "src/platform", "src/packages"]);
/** Where runtime adapters are chosen and built: the only places that import more of runtimes/ than its interface. */
const COMPOSITION_ROOT = new Set(["src/bootstrap", "src/cli", "src/simulate"]);
const RUNTIME_INTERFACE = "runtimes/types.ts";

export interface Edge {
  from: string;
  to: string;
}

/** The module a repository-relative file belongs to. */
export function moduleOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "runtimes") return "runtimes";
  return parts.length > 2 ? `src/${parts[1]}` : file;
}

/** Every violation of the rules in a file-level import graph (repository-relative paths). */
export function violations(edges: readonly Edge[], layers: readonly (readonly string[])[]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((mods, i) => mods.forEach((m) => rank.set(m, i)));
  const out: string[] = [];
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const a = moduleOf(from);
    const b = moduleOf(to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
    const ra = rank.get(a);
    const rb = rank.get(b);
    if (ra === undefined) out.push(`${a} has no layer (add it to docs/architecture.md and LAYERS)`);
    else if (rb !== undefined && rb > ra) out.push(`upward import: ${from} -> ${to} (${a} is below ${b})`);
    if (a === "runtimes" && !RUNTIMES_MAY_USE.has(b)) out.push(`runtimes/ may not use ${b}: ${from} -> ${to}`);
    if (b === "runtimes" && to !== RUNTIME_INTERFACE && !COMPOSITION_ROOT.has(a)) out.push(`only the composition root builds runtime adapters: ${from} -> ${to}`);
  }
  for (const cycle of cycles(graph)) out.push(`import cycle: ${cycle.join(" -> ")}`);
  return [...new Set(out)];
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.reverse());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.[^"]+)"|import\(\s*"(\.[^"]+)"\s*\)/g;

/** The repository's own import graph (relative specifiers only; packages are not modules of ours). */
export function repositoryEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of [...sourceFiles(join(ROOT, "src")), ...sourceFiles(join(ROOT, "runtimes"))]) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1] ?? m[2]!);
      const to = relative(ROOT, target);
      if (to.startsWith("src/") || to.startsWith("runtimes/")) edges.push({ from: relative(ROOT, file), to });
    }
  }
  return edges;
}

describe("import direction (docs/architecture.md, Layers)", () => {
  test("src/ and runtimes/ follow the layers, with no cycle", () => {
    const edges = repositoryEdges();
    expect(edges.length).toBeGreaterThan(300);
    expect(violations(edges, LAYERS)).toEqual([]);
  });

  test("every module of src/ has a layer", () => {
    const modules = readdirSync(join(ROOT, "src")).map((n) => `src/${n}`);
    const known = new Set(LAYERS.flat());
    expect(modules.filter((m) => !known.has(m))).toEqual([]);
  });

  test("a deliberate cycle is caught", () => {
    const edges = [
      { from: "src/store/a.ts", to: "src/journal/b.ts" },
      { from: "src/journal/b.ts", to: "src/store/c.ts" },
    ];
    expect(violations(edges, LAYERS)).toEqual(["import cycle: src/store -> src/journal"]);
  });

  test("a deliberate upward import, a runtime reaching into the core, and an adapter built outside the root are caught", () => {
    const edges = [
      { from: "src/protocol/x.ts", to: "src/agent/agent.ts" },
      { from: "runtimes/compose/index.ts", to: "src/store/state-store.ts" },
      { from: "src/reconcile/r.ts", to: "runtimes/compose/index.ts" },
      { from: "src/reconcile/r.ts", to: "runtimes/types.ts" },
    ];
    expect(violations(edges, LAYERS)).toEqual([
      "upward import: src/protocol/x.ts -> src/agent/agent.ts (src/protocol is below src/agent)",
      "runtimes/ may not use src/store: runtimes/compose/index.ts -> src/store/state-store.ts",
      "only the composition root builds runtime adapters: src/reconcile/r.ts -> runtimes/compose/index.ts",
    ]);
  });
});
