/**
 * `margo-agent package`: for application developers. build (a deterministic Margo compose
 * archive), push (to any OCI Distribution registry, with the Margo media types and annotations),
 * inspect (what a device would see when it pulls a reference). Publishing needs no other tool.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { bunPlatform } from "../../platform/bun/index.ts";
import { AgentError } from "../../errors/index.ts";
import {
  ARTIFACT_KINDS,
  OciPuller,
  RegistryTransport,
  buildComposeArchive,
  formatReference,
  loadAuthFile,
  noCredentials,
  parseOciUrl,
  pushArtifact,
  unpackComposeArchive,
} from "../../oci/index.ts";
import type { RegistryAccess } from "../../oci/index.ts";
import { DEFAULT_PULL_LIMITS } from "../../oci/puller.ts";
import { UsageError, parse } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

const OPTIONS = {
  out: { type: "string", short: "o" },
  name: { type: "string" },
  json: { type: "boolean" },
  title: { type: "string" },
  description: { type: "string" },
  authors: { type: "string" },
  source: { type: "string" },
  "auth-file": { type: "string" },
  "ca-file": { type: "string" },
  "allow-insecure-http": { type: "boolean" },
  mirror: { type: "string", multiple: true },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

export const packageCommand: Command = {
  name: "package",
  summary: "build, push and inspect Margo compose archives (OCI artifacts)",
  usage: `Usage: margo-agent package build DIR [--out FILE] [--name NAME] [--json]
       margo-agent package push DIR oci://HOST[:PORT]/PATH:VERSION [options]
       margo-agent package inspect oci://HOST[:PORT]/PATH(:TAG|@sha256:…) [options]

build    checks DIR as a Margo compose application (compose.yaml, no links, no other
         compose file name, env_file/configs inside, no secret files) and writes a
         deterministic tar.gz: the same files give the same digest.
         Default output: ./<name>-compose.tar.gz.
push     builds DIR and pushes it as an OCI artifact (artifactType
         application/vnd.org.margo.component.compose+json, one layer
         application/vnd.org.margo.component.compose.tar+gzip, annotations
         org.margo.component.type=compose and org.margo.component.version=VERSION).
         VERSION is the tag: SemVer 2.0 without a leading v.
inspect  pulls a reference as a device would (digests verified, archive rules
         checked) and prints what it found; exit 1 when a device would refuse it.

Options:
  -o, --out FILE            (build) where to write the archive
      --name NAME           top-level directory inside the archive (default: DIR's name)
      --title TEXT          (push) org.opencontainers.image.title (default: NAME)
      --description TEXT    (push) org.opencontainers.image.description
      --authors TEXT        (push) org.opencontainers.image.authors
      --source URL          (push) org.opencontainers.image.source
      --auth-file FILE      docker config.json with registry credentials (mode 0600);
                            default $DOCKER_CONFIG/config.json or ~/.docker/config.json if present
      --ca-file FILE        extra CA certificate (PEM) for the registry, its token
                            service, mirrors and redirect hops
      --allow-insecure-http plain http, to a loopback registry only
      --mirror URL          (inspect) try this mirror first (repeatable)
      --json                machine-readable output`,
  async run(argv) {
    const { values, positionals } = parse(argv, OPTIONS, true);
    const v = values as Values & { help?: boolean };
    const [sub, ...args] = positionals;
    if (v.help || !sub) {
      console.log(this.usage);
      return v.help ? EXIT.OK : EXIT.USAGE;
    }
    try {
      if (sub === "build") return await build(args, v);
      if (sub === "push") return await push(args, v);
      if (sub === "inspect") return await inspect(args, v);
    } catch (err) {
      if (err instanceof UsageError || !(err instanceof AgentError)) throw err;
      if (v.json) console.log(JSON.stringify({ ok: false, code: err.code, message: err.message }));
      else console.error(`margo-agent package ${sub}: ${err.code}: ${err.message}`);
      return EXIT.FAILURE;
    }
    throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}`);
  },
};

async function build(args: string[], v: Values): Promise<number> {
  if (args.length !== 1) throw new UsageError("build takes one DIR");
  const built = await buildComposeArchive(args[0]!, { name: v.name });
  const out = v.out ?? `${built.top}-compose.tar.gz`;
  await writeFile(out, built.bytes);
  if (v.json) console.log(JSON.stringify({ ok: true, file: out, digest: built.digest, size: built.bytes.byteLength, top: built.top, files: built.files, warnings: built.warnings }));
  else {
    for (const w of built.warnings) console.error(`warning: ${w}`);
    console.log(`${out}\n  digest  ${built.digest}\n  size    ${built.bytes.byteLength} bytes\n  files   ${built.files.length} in ${built.top}/`);
  }
  return EXIT.OK;
}

async function push(args: string[], v: Values): Promise<number> {
  if (args.length !== 2) throw new UsageError("push takes DIR and oci://HOST/PATH:VERSION");
  const ref = reference(args[1]!);
  if (!ref.tag || ref.digest) throw new UsageError("push needs a tag (the version) and no digest: oci://HOST/PATH:1.2.3");
  if (!SEMVER.test(ref.tag)) throw new UsageError(`the tag ${JSON.stringify(ref.tag)} is not a SemVer 2.0 version without a leading v (e.g. 1.2.3); Margo revisions are SemVer tags`);
  const built = await buildComposeArchive(args[0]!, { name: v.name });
  for (const w of built.warnings) if (!v.json) console.error(`warning: ${w}`);
  const access = await accessFromFlags(ref.registry, v);
  const transport = new RegistryTransport(bunPlatform.fetch, access, DEFAULT_PULL_LIMITS);
  const extra: Record<string, string> = {};
  if (v.source) extra["org.opencontainers.image.source"] = v.source;
  const pushed = await pushArtifact(transport, ref, ARTIFACT_KINDS.compose, built.bytes, {
    version: ref.tag,
    title: v.title ?? built.top,
    description: v.description,
    authors: v.authors,
    extra,
  });
  if (v.json) console.log(JSON.stringify({ ok: true, reference: pushed.reference, manifestDigest: pushed.manifestDigest, layerDigest: pushed.layerDigest, size: pushed.layerSize, skipped: pushed.skipped }));
  else console.log(`pushed ${pushed.reference}\n  manifest  ${pushed.manifestDigest}\n  layer     ${pushed.layerDigest} (${pushed.layerSize} bytes)${pushed.skipped.includes(pushed.layerDigest) ? ", already in the registry" : ""}`);
  return EXIT.OK;
}

async function inspect(args: string[], v: Values): Promise<number> {
  if (args.length !== 1) throw new UsageError("inspect takes one oci:// reference");
  const ref = reference(args[0]!);
  if (!ref.tag && !ref.digest) throw new UsageError("inspect needs a tag or digest: oci://HOST/PATH:1.2.3 or …@sha256:…");
  const access = await accessFromFlags(ref.registry, v);
  const cacheDir = await mkdtemp(join(tmpdir(), "margo-inspect-"));
  try {
    const puller = new OciPuller({ fetch: bunPlatform.fetch, access, cacheDir, reserveBytes: 0 });
    let verdict: { ok: true } | { ok: false; code: string; message: string } = { ok: true };
    const report: Record<string, unknown> = { reference: formatReference(ref) };
    try {
      const pulled = await puller.pull(ref, ARTIFACT_KINDS.compose);
      Object.assign(report, {
        endpoint: pulled.endpoint,
        mirror: pulled.mirror,
        manifestDigest: pulled.manifestDigest,
        artifactType: pulled.artifactType,
        layer: { digest: pulled.layer.digest, size: pulled.layer.size, mediaType: pulled.layer.mediaType },
        annotations: pulled.annotations,
      });
      const pkg = await unpackComposeArchive(pulled.layer, { cacheDir, what: `layer ${pulled.layer.digest}` });
      const marker = JSON.parse(await readFile(join(cacheDir, "unpacked", `sha256-${pulled.layer.digest.slice(7)}.json`), "utf8")) as { files: Record<string, string> };
      report.archive = { top: pkg.top, composeFile: `${pkg.top}/compose.yaml`, files: Object.keys(marker.files).sort() };
    } catch (err) {
      if (!(err instanceof AgentError)) throw err;
      verdict = { ok: false, code: err.code, message: err.message };
    }
    report.verdict = verdict;
    if (v.json) console.log(JSON.stringify(report));
    else printInspect(report, verdict);
    return verdict.ok ? EXIT.OK : EXIT.FAILURE;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

function printInspect(r: Record<string, unknown>, verdict: { ok: true } | { ok: false; code: string; message: string }): void {
  const lines = [`reference     ${r.reference}`];
  if (r.manifestDigest) {
    const layer = r.layer as { digest: string; size: number; mediaType: string };
    lines.push(`endpoint      ${r.endpoint}${r.mirror ? " (mirror)" : ""}`, `manifest      ${r.manifestDigest}`, `artifactType  ${r.artifactType}`, `layer         ${layer.digest} (${layer.size} bytes, ${layer.mediaType})`);
    const ann = Object.entries(r.annotations as Record<string, string>);
    if (ann.length) lines.push("annotations", ...ann.map(([k, val]) => `  ${k.padEnd(38)} ${val}`));
  }
  if (r.archive) {
    const a = r.archive as { top: string; files: string[] };
    lines.push(`archive       ${a.top}/ (${a.files.length} files)`, ...a.files.map((f) => `  ${f}`));
  }
  lines.push(verdict.ok ? "verdict       OK: a Margo compose archive a device would install" : `verdict       REFUSED ${verdict.code}: ${verdict.message}`);
  (verdict.ok ? console.log : console.error)(lines.join("\n"));
}

function reference(text: string) {
  try {
    return parseOciUrl(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Registry access for one command: credentials (auth file), one CA, insecure http, mirrors. */
async function accessFromFlags(registry: string, v: Values): Promise<RegistryAccess> {
  const dockerConfig = join(process.env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
  const authFile = v["auth-file"] ?? (existsSync(dockerConfig) ? dockerConfig : undefined);
  const credentials = authFile ? await loadAuthFile(authFile, v["auth-file"] ? "--auth-file" : basename(dockerConfig)) : noCredentials;
  const cas: Record<string, string> = {};
  if (v["ca-file"]) {
    const pem = await readFile(v["ca-file"], "utf8").catch(() => {
      throw new UsageError(`--ca-file ${v["ca-file"]} cannot be read`);
    });
    cas["*"] = pem;
  }
  for (const m of v.mirror ?? []) {
    try {
      new URL(m);
    } catch {
      throw new UsageError(`--mirror ${JSON.stringify(m)} is not a URL`);
    }
  }
  return { allowInsecureHttp: v["allow-insecure-http"] === true, mirrors: v.mirror?.length ? { [registry]: v.mirror } : {}, cas, credentials };
}
