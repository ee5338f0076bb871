/**
 * Issue 15 item 5: which Git client, by measurement (run by hand, not by
 * `bun test`; the numbers are in docs/protocol.md, "GitOps source"):
 *
 *   bun test/integration/gitops/measure-clients.ts [ISO_DIR]
 *
 * A repository of 100 ApplicationDeployment YAMLs and 500 commits is served by
 * `git http-backend` on loopback (test/support/git-server.ts); then a shallow
 * fetch of its tip, 5 times each, by Debian's git CLI (as the agent runs it) and,
 * when ISO_DIR holds a scratch `npm i isomorphic-git` (never the project's
 * node_modules), by isomorphic-git under Bun. Peak RSS and wall time come from
 * GNU time (the largest process of the tree: git, git-remote-http, index-pack).
 * A second round adds one 32 MiB incompressible file elsewhere in the
 * repository: how each client's memory follows the pack's size.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { GitWorkTree, gitEnv, startGitServer } from "../../support/git-server.ts";

const isoDir = process.argv[2];
const RUNS = 5;
const server = await startGitServer();
const bare = server.createRepo("fleet.git");
const work = new GitWorkTree(bare);

const yaml = (i: number, rev: number) => `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  annotations: {id: app-${i}, applicationId: fleet-app-${i % 7}}
  name: app-${i}
spec:
  deploymentProfile:
    type: compose
    components:
      - name: app
        properties:
          packageLocation: https://packages.example.com/app-${i}/compose-${rev}.tar.gz
          keyLocation: https://packages.example.com/keys/fleet.asc
          wait: true
          timeout: 120s
  parameters:
    revision: {value: "${rev}", targets: [{pointer: REVISION, components: [app]}]}
    site: {value: "plant-${i % 13}", targets: [{pointer: SITE, components: [app]}]}
`;
for (let i = 0; i < 100; i++) work.write(`devices/edge-001/app-${i}.yaml`, yaml(i, 0));
work.commit("initial");
for (let c = 1; c < 500; c++) {
  const i = c % 100;
  work.write(`devices/edge-001/app-${i}.yaml`, yaml(i, c));
  work.commit(`app-${i} revision ${c}`);
}
work.push();

async function timed(argv: string[], env: Record<string, string>, cwd?: string): Promise<{ rssKiB: number; seconds: number }> {
  const p = Bun.spawn(["/usr/bin/time", "-f", "%M %e", ...argv], { env, cwd, stdout: "ignore", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: ${err}`);
  const [rss, secs] = err.trim().split("\n").at(-1)!.split(" ");
  return { rssKiB: Number(rss), seconds: Number(secs) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function gitCli(label: string): Promise<void> {
  const rss: number[] = [];
  const secs: number[] = [];
  let pack = 0;
  for (let r = 0; r < RUNS; r++) {
    const dir = mkdtempSync(join(tmpdir(), "measure-cli-"));
    const env = gitEnv(dir);
    Bun.spawnSync(["git", "init", "--quiet", "--bare", dir], { env });
    const m = await timed(["git", "-C", dir, "-c", "protocol.version=2", "-c", "fetch.unpackLimit=1", "fetch", "--quiet", "--depth=1", "--no-tags", server.url("fleet.git"), "+refs/heads/main:refs/margo/tip"], env);
    rss.push(m.rssKiB);
    secs.push(m.seconds);
    pack = Number(Bun.spawnSync(["du", "-sk", join(dir, "objects")]).stdout.toString().split("\t")[0]);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${label} git CLI   : peak RSS ${median(rss)} KiB (min ${Math.min(...rss)}, max ${Math.max(...rss)}), ${median(secs).toFixed(2)} s median of ${RUNS}; objects on disk ${pack} KiB`);
}

async function iso(label: string): Promise<void> {
  if (!isoDir) return;
  const script = join(isoDir, "measure-fetch.mjs");
  writeFileSync(
    script,
    `import git from "isomorphic-git";
import http from "isomorphic-git/http/web";
import fs from "node:fs";
const dir = process.argv[2];
await git.clone({ fs, http, dir, url: process.argv[3], ref: "main", singleBranch: true, depth: 1, noCheckout: true, noTags: true });
const oid = await git.resolveRef({ fs, dir, ref: "HEAD" });
const { tree } = await git.readTree({ fs, dir, oid, filepath: "devices/edge-001" });
let bytes = 0;
for (const e of tree) bytes += (await git.readBlob({ fs, dir, oid: e.oid })).blob.length;
if (tree.length !== 100) throw new Error("expected 100 files, got " + tree.length);
`,
  );
  const rss: number[] = [];
  const secs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const dir = mkdtempSync(join(tmpdir(), "measure-iso-"));
    const m = await timed([process.execPath, script, dir, server.url("fleet.git")], { PATH: process.env.PATH!, HOME: dir }, isoDir);
    rss.push(m.rssKiB);
    secs.push(m.seconds);
    rmSync(dir, { recursive: true, force: true });
  }
  const base = await timed([process.execPath, "-e", "0"], { PATH: process.env.PATH! });
  console.log(`${label} isomorphic: peak RSS ${median(rss)} KiB (min ${Math.min(...rss)}, max ${Math.max(...rss)}), ${median(secs).toFixed(2)} s median of ${RUNS} (the same Bun doing nothing: ${base.rssKiB} KiB)`);
}

await gitCli("100 YAMLs, 500 commits:");
await iso("100 YAMLs, 500 commits:");

mkdirSync(join(work.dir, "assets"), { recursive: true });
writeFileSync(join(work.dir, "assets", "firmware.bin"), randomBytes(32 * 1024 * 1024));
work.commit("a 32 MiB file elsewhere");
work.push();
await gitCli("+ 32 MiB blob elsewhere:");
await iso("+ 32 MiB blob elsewhere:");

if (isoDir) {
  const plain = join(isoDir, "exe-plain.ts");
  const withIso = join(isoDir, "exe-iso.ts");
  writeFileSync(plain, `console.log(typeof fetch);\n`);
  writeFileSync(withIso, `import git from "isomorphic-git";\nimport http from "isomorphic-git/http/web";\nconsole.log(typeof fetch, typeof git.clone, typeof http.request);\n`);
  for (const f of [plain, withIso]) Bun.spawnSync([process.execPath, "build", "--compile", "--minify", f, "--outfile", f.replace(/\.ts$/, ".bin")], { cwd: isoDir, stdout: "ignore", stderr: "inherit" });
  const a = statSync(plain.replace(/\.ts$/, ".bin")).size;
  const b = statSync(withIso.replace(/\.ts$/, ".bin")).size;
  console.log(`executable: bun build --compile --minify grows by ${b - a} bytes (${((b - a) / 1024).toFixed(0)} KiB) with isomorphic-git and its http client`);
}
console.log(`${Bun.spawnSync(["git", "--version"]).stdout.toString().trim()}; Debian package git: ${Bun.spawnSync(["dpkg-query", "-W", "-f", "${Installed-Size}", "git"]).stdout} KiB installed`);
await server.stop();
work.cleanup();
