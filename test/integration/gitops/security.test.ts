/**
 * The GitOps source's security rules, each attack performed for real against a
 * Git server on loopback: a force-push to an older commit and to an unrelated
 * history (refused as GIT_HISTORY_REWRITTEN, a security event, unless
 * git.allowRewrite), unsigned and wrongly signed tips with git.verify on (gpg and
 * ssh signing), and wrong credentials (never logged, backed off).
 *
 * Invariants held here (docs/architecture.md): INV-GIT-1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { META } from "../../../src/store/meta-keys.ts";
import { drained } from "../../support/agent-harness.ts";
import type { FakeWfm } from "../../support/fake-wfm.ts";
import { type GitServer, GitWorkTree, sh, startGitServer } from "../../support/git-server.ts";
import { appYaml, changes, DEVICE, makeGitAgent, startPackageWfm } from "./harness.ts";

let wfm: FakeWfm;
let git: GitServer;
let tokenFile: string;
const scratch = mkdtempSync(join(tmpdir(), "gitops-sec-"));
const dir = `fleet/devices/${DEVICE}`;
const signal = new AbortController().signal;

beforeAll(async () => {
  wfm = startPackageWfm();
  git = await startGitServer({ auth: { user: "x-access-token", password: "tok-7f3a9c1e5b" } });
  tokenFile = join(scratch, "token");
  writeFileSync(tokenFile, "tok-7f3a9c1e5b\n", { mode: 0o600 });
});
const gnupgHomes: string[] = [];
afterAll(async () => {
  wfm.stop();
  await git.stop();
  // Key generation started a gpg-agent per home: end exactly those.
  for (const home of gnupgHomes) sh(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], { env: { PATH: process.env.PATH!, HOME: home } });
});

test("a force-push to an older commit, or to an unrelated history, is refused as a security event and runs nothing new", async () => {
  const work = new GitWorkTree(git.createRepo("rewrite.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v1"));
  const old = work.commit("v1");
  for (let i = 2; i <= 6; i++) {
    work.write(`${dir}/web.yaml`, appYaml("web", wfm, `v${i}`));
    work.commit(`v${i}`);
  }
  const newest = work.head();
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("rewrite.git"), sets: [`git.tokenFile=${tokenFile}`] });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  const digest = h.agent.store.getDeployment("web")!.digest;

  // Roll the branch back to v1: an attacker replaying an old, vulnerable version.
  work.push("main", old);
  await drained(h.agent);
  const before = changes(h.agent);
  const r = await h.agent.sync.poll(signal);
  expect(r.outcome).toBe("rejected");
  expect("error" in r && r.error.code).toBe("GIT_HISTORY_REWRITTEN");
  expect(h.agent.store.getDeployment("web")!.digest).toBe(digest);
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(newest);
  expect(changes(h.agent)).toBe(before);
  const event = h.logs().find((l) => l.code === "GIT_HISTORY_REWRITTEN");
  expect(event?.securityEvent).toBe(true);
  expect(event?.level).toBe("error");
  expect(event?.lastApplied).toBe(newest);
  // Remembered for that tip: asked again, it is not fetched again.
  expect((await h.agent.sync.poll(signal)).outcome).toBe("still-rejected");

  // An unrelated history (an orphan branch pushed over main).
  work.git("checkout", "--quiet", "--orphan", "evil");
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "evil"));
  work.commit("unrelated");
  work.push("main");
  const u = await h.agent.sync.poll(signal);
  expect("error" in u && u.error.code).toBe("GIT_HISTORY_REWRITTEN");
  expect("error" in u && u.error.message).toContain("history does not contain the last applied commit");

  // Moving forward again from the last applied commit is taken.
  work.git("checkout", "--quiet", "main");
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v7"));
  work.commit("v7");
  work.push("main");
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  expect(h.agent.store.getDeployment("web")!.digest).not.toBe(digest);
  await h.agent.stop();

  // With git.allowRewrite the operator may roll back on purpose.
  work.push("main", old);
  const lax = await makeGitAgent({ wfm, gitUrl: git.url("rewrite.git"), dataDir: h.dataDir, sets: [`git.tokenFile=${tokenFile}`, "git.allowRewrite=true"] });
  expect((await lax.agent.sync.poll(signal)).outcome).toBe("applied");
  expect(lax.agent.store.getMeta(META.gitCommit)).toBe(old);
  await lax.agent.stop();
  work.cleanup();
});

/** A GnuPG home with one fresh ed25519 signing key; returns its fingerprint and armored public key. */
function gpgKey(name: string): { home: string; fpr: string; pub: string } {
  const home = mkdtempSync(join(tmpdir(), `gnupg-${name}-`));
  gnupgHomes.push(home);
  const env = { PATH: process.env.PATH!, GNUPGHOME: home, HOME: home };
  sh(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", `${name} <${name}@example.com>`, "ed25519", "sign", "never"], { env });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(sh(["gpg", "--batch", "--with-colons", "--list-secret-keys"], { env }))![1]!;
  const pub = sh(["gpg", "--batch", "--armor", "--export", fpr], { env });
  return { home, fpr, pub };
}

test("git.verify gpg: an unsigned tip and one signed by another key apply nothing; a tip signed by a listed key is applied", async () => {
  const ops = gpgKey("ops");
  const mallory = gpgKey("mallory");
  const keysFile = join(scratch, "fleet-keys.asc");
  writeFileSync(keysFile, ops.pub);
  const bare = git.createRepo("signed-gpg.git");
  const work = new GitWorkTree(bare, { GNUPGHOME: ops.home });
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v1"));
  work.commit("signed v1", ["-S", `--gpg-sign=${ops.fpr}`]);
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("signed-gpg.git"), sets: [`git.tokenFile=${tokenFile}`, "git.verify.mode=gpg", `git.verify.keysFile=${keysFile}`] });
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  const digest = h.agent.store.getDeployment("web")!.digest;

  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "unsigned"));
  work.commit("unsigned");
  work.push();
  const unsigned = await h.agent.sync.poll(signal);
  expect("error" in unsigned && unsigned.error.code).toBe("GIT_SIGNATURE_INVALID");
  expect("error" in unsigned && unsigned.error.message).toContain("not signed");
  expect(h.agent.store.getDeployment("web")!.digest).toBe(digest);

  const evil = new GitWorkTree(bare, { GNUPGHOME: mallory.home });
  evil.git("fetch", "--quiet", bare, "main");
  evil.git("reset", "--quiet", "--hard", "FETCH_HEAD");
  evil.write(`${dir}/web.yaml`, appYaml("web", wfm, "mallory"));
  evil.commit("signed by someone else", ["-S", `--gpg-sign=${mallory.fpr}`]);
  evil.push();
  const wrong = await h.agent.sync.poll(signal);
  expect("error" in wrong && wrong.error.code).toBe("GIT_SIGNATURE_INVALID");
  expect("error" in wrong && wrong.error.message).toContain("does not verify");
  expect(h.agent.store.getDeployment("web")!.digest).toBe(digest);
  expect(h.logs().filter((l) => l.code === "GIT_SIGNATURE_INVALID").every((l) => l.securityEvent === true)).toBe(true);

  work.git("fetch", "--quiet", bare, "main");
  work.git("reset", "--quiet", "--hard", "FETCH_HEAD");
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v2"));
  const good = work.commit("signed v2", ["-S", `--gpg-sign=${ops.fpr}`]);
  work.push();
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  expect(h.agent.store.getMeta(META.gitCommit)).toBe(good);
  await h.agent.stop();
  work.cleanup();
  evil.cleanup();
});

test("git.verify ssh: an unsigned tip applies nothing; a tip signed by a key of the allowed_signers file is applied", async () => {
  const key = join(scratch, "ops_ed25519");
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops", "-f", key]);
  const other = join(scratch, "other_ed25519");
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", other]);
  const allowed = join(scratch, "allowed_signers");
  writeFileSync(allowed, `ops@example.com ${readFileSync(`${key}.pub`, "utf8")}`);
  const bare = git.createRepo("signed-ssh.git");
  const work = new GitWorkTree(bare);
  const signWith = (k: string) => ["-c", "gpg.format=ssh", "-c", `user.signingkey=${k}.pub`];
  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v1"));
  work.commit("unsigned v1");
  work.push();
  const h = await makeGitAgent({ wfm, gitUrl: git.url("signed-ssh.git"), sets: [`git.tokenFile=${tokenFile}`, "git.verify.mode=ssh", `git.verify.keysFile=${allowed}`] });
  const first = await h.agent.sync.poll(signal);
  expect("error" in first && first.error.code).toBe("GIT_SIGNATURE_INVALID");
  expect(h.agent.store.listDeployments()).toEqual([]);

  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v2"));
  work.git(...signWith(other), "commit", "--quiet", "-a", "-S", "-m", "signed by a key not listed");
  work.push();
  const wrong = await h.agent.sync.poll(signal);
  expect("error" in wrong && wrong.error.code).toBe("GIT_SIGNATURE_INVALID");

  work.write(`${dir}/web.yaml`, appYaml("web", wfm, "v3"));
  work.git(...signWith(key), "commit", "--quiet", "-a", "-S", "-m", "signed v3");
  work.push();
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");
  await h.agent.stop();
  work.cleanup();
});

test("wrong credentials: GIT_AUTH_FAILED, the token never logged, the server asked again only after a backoff", async () => {
  const work = new GitWorkTree(git.createRepo("auth.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const wrongToken = join(scratch, "wrong-token");
  writeFileSync(wrongToken, "tok-WRONG-0000\n", { mode: 0o600 });
  const h = await makeGitAgent({ wfm, gitUrl: git.url("auth.git"), sets: [`git.tokenFile=${wrongToken}`] });
  const requests = git.requests.length;
  const r = await h.agent.sync.poll(signal);
  expect(r.outcome).toBe("unreachable");
  expect("error" in r && r.error.code).toBe("GIT_AUTH_FAILED");
  const asked = git.requests.length - requests;
  expect(asked).toBeGreaterThan(0);
  // Inside the backoff nothing is asked.
  expect((await h.agent.sync.poll(signal)).outcome).toBe("unreachable");
  expect(git.requests.length - requests).toBe(asked);
  const logged = JSON.stringify(h.logs());
  expect(logged).not.toContain("tok-WRONG-0000");
  expect(logged).not.toContain(Buffer.from("x-access-token:tok-WRONG-0000").toString("base64"));
  // The token is in a 0600 file in the data directory, not in argv or the environment.
  const { statSync } = await import("node:fs");
  expect(statSync(join(h.dataDir, "gitops", "gitconfig")).mode & 0o777).toBe(0o600);
  await h.agent.stop();
  work.cleanup();
});

test("the token is never on git's command line or in its environment: a git wrapper on PATH records both", async () => {
  const work = new GitWorkTree(git.createRepo("trace.git"));
  work.write(`${dir}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const bin = mkdtempSync(join(tmpdir(), "git-trace-"));
  const trace = join(bin, "trace");
  writeFileSync(join(bin, "git"), `#!/bin/sh\n{ printf 'ARGV:'; printf ' %s' "$@"; printf '\\n'; env; } >> '${trace}'\nexec /usr/bin/git "$@"\n`, { mode: 0o755 });
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  let h;
  try {
    h = await makeGitAgent({ wfm, gitUrl: git.url("trace.git"), sets: [`git.tokenFile=${tokenFile}`] });
  } finally {
    process.env.PATH = path;
  }
  expect((await h.agent.sync.poll(signal)).outcome).toBe("applied");
  const seen = readFileSync(trace, "utf8");
  expect(seen).toContain("ARGV: ls-remote");
  expect(seen).toContain("ARGV: -C");
  expect(seen).not.toContain("tok-7f3a9c1e5b");
  expect(seen).not.toContain(Buffer.from("x-access-token:tok-7f3a9c1e5b").toString("base64"));
  // What git did get: the path of the 0600 file that holds it.
  expect(seen).toContain(`GIT_CONFIG_GLOBAL=${join(h.dataDir, "gitops", "gitconfig")}`);
  await h.agent.stop();
  work.cleanup();
});
