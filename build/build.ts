/**
 * `npm run build`: compiles margo-agent into single executables for Linux
 * (glibc and musl, x64 and arm64), writes SHA256SUMS and prints their sizes.
 * A target that cannot be built is reported and the others still go ahead.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { BUILD_USAGE, parseBuildArgs, type BuildArgs } from "./args.ts";
import { BYTECODE_ORDER, bytecodeOrderFile, compileTarget } from "./compile.ts";
import { formatSha256Sums, formatSizeReport, type BuiltFile } from "./report.ts";
import { selectTargets, type TargetSelection } from "./targets.ts";
import { defineArgs, readEmbeddedVersion } from "./version.ts";

const repoRoot = resolve(import.meta.dir, "..");

function fail(message: string): never {
  console.error(`build: ${message}`);
  console.error(BUILD_USAGE);
  process.exit(1);
}

let args: BuildArgs;
let selection: TargetSelection;
try {
  args = parseBuildArgs(process.argv.slice(2));
  selection = selectTargets(args.only, Bun.version);
} catch (err) {
  fail((err as Error).message);
}
if (args.help) {
  console.log(BUILD_USAGE);
  process.exit(0);
}

const outdir = resolve(args.outdir);
const entry = resolve(args.entry);
try {
  statSync(entry);
} catch {
  fail(`entry ${entry} does not exist`);
}
mkdirSync(outdir, { recursive: true });

const embedded = readEmbeddedVersion(repoRoot);
console.log(`build: margo-agent ${embedded.version} (${embedded.commit}) with Bun ${Bun.version} -> ${outdir}`);
for (const s of selection.skipped) console.log(`build: SKIPPED ${s.target.name}: ${s.reason}`);
// One profile for every target: it names functions of the bundle, which is the same for all of them.
const bytecodeOrder = bytecodeOrderFile(repoRoot);
console.log(bytecodeOrder ? `build: bytecode laid out by ${BYTECODE_ORDER}` : `build: no ${BYTECODE_ORDER}: bytecode in bundle order (bun build/record-bytecode-order.ts records one)`);

const built: BuiltFile[] = [];
const failed: string[] = [];
for (const target of selection.targets) {
  const outfile = join(outdir, target.fileName);
  // A failed build must not leave last run's file behind looking fresh.
  rmSync(outfile, { force: true });
  console.log(`build: ${target.name} (${target.bunTarget}) ...`);
  const result = await compileTarget({
    bunExecutable: process.execPath,
    repoRoot,
    entry,
    outdir,
    target,
    defines: defineArgs(embedded),
    bytecodeOrder,
  });
  if (!result.ok) {
    failed.push(target.name);
    console.error(`build: FAILED ${target.name} (${target.bunTarget}), bun build exited ${result.exitCode}:`);
    console.error(result.log.replace(/^/gm, "  | "));
    // Only a cross target's runtime is downloaded; say so when that is what went wrong.
    if (target.bunTarget !== `bun-linux-${process.arch}` && /download|fetch|registry|network|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|tarball/i.test(result.log)) {
      console.error(`  cross-compiling needs Bun's ${target.bunTarget} runtime, fetched from the npm registry on first use.`);
    }
    continue;
  }
  const bytes = readFileSync(outfile);
  built.push({ fileName: basename(outfile), bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
}

// Only files built by this run are listed: a stale file from an older commit must not get a checksum.
const sumsFile = join(outdir, "SHA256SUMS");
if (built.length > 0) {
  writeFileSync(sumsFile, formatSha256Sums(built));
  console.log(`\n${formatSizeReport(built)}`);
  console.log(`build: wrote ${sumsFile} (${built.length} file${built.length === 1 ? "" : "s"}); check with: cd ${dirname(sumsFile)} && sha256sum -c SHA256SUMS`);
}
if (failed.length > 0) {
  console.error(`build: ${failed.length} target(s) failed: ${failed.join(", ")}`);
  process.exit(built.length > 0 ? 2 : 1);
}
