/**
 * https to a Git server whose certificate comes from a private CA: trusted only
 * with git.caFile (curl's verification, not switched off), and the token sent as
 * basic auth over TLS. The certificates are made by openssl for the test.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";
import { type GitServer, GitWorkTree, sh, startGitServer } from "../../support/git-server.ts";
import { appYaml, DEVICE, makeGitAgent } from "./harness.ts";

const pki = mkdtempSync(join(tmpdir(), "gitops-pki-"));
let wfm: FakeWfm;
let git: GitServer;
const signal = new AbortController().signal;

beforeAll(async () => {
  const p = (n: string) => join(pki, n);
  sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=fleet test CA", "-keyout", p("ca.key"), "-out", p("ca.pem")]);
  sh(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", p("srv.key"), "-out", p("srv.csr")]);
  writeFileSync(p("ext"), "subjectAltName=IP:127.0.0.1\n");
  sh(["openssl", "x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("ext"), "-out", p("srv.pem")]);
  git = await startGitServer({ auth: { user: "x-access-token", password: "tls-token-42" }, tls: { cert: readFileSync(p("srv.pem"), "utf8"), key: readFileSync(p("srv.key"), "utf8") } });
  writeFileSync(p("token"), "tls-token-42\n", { mode: 0o600 });
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n");
});
afterAll(async () => {
  wfm.stop();
  await git.stop();
});

test("https with a private CA: refused without git.caFile, taken with it", async () => {
  const work = new GitWorkTree(git.createRepo("tls.git"));
  work.write(`fleet/devices/${DEVICE}/web.yaml`, appYaml("web", wfm));
  work.commit("web");
  work.push();
  const untrusted = await makeGitAgent({ wfm, gitUrl: git.url("tls.git"), sets: [`git.tokenFile=${join(pki, "token")}`] });
  const r = await untrusted.agent.sync.poll(signal);
  expect("error" in r && r.error.code).toBe("GIT_UNREACHABLE");
  expect("error" in r && r.error.message.toLowerCase()).toContain("certificate");
  await untrusted.agent.stop();

  const trusted = await makeGitAgent({ wfm, gitUrl: git.url("tls.git"), sets: [`git.tokenFile=${join(pki, "token")}`, `git.caFile=${join(pki, "ca.pem")}`] });
  expect((await trusted.agent.sync.poll(signal)).outcome).toBe("applied");
  expect(trusted.agent.store.getDeployment("web")?.state).toBe("installed");
  await trusted.agent.stop();
  work.cleanup();
}, 60_000);
