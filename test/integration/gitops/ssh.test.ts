/**
 * The ssh transport against a real sshd on loopback (Debian's openssh-server,
 * run by the test with its own host key and authorized_keys, nothing of the
 * system's): the agent's key and known_hosts file are used and nothing else, a
 * host key that is not in git.knownHostsFile is refused (no trust on first use),
 * and so is a key the server does not know. Skipped where sshd is not installed.
 *
 * Invariants held here (docs/architecture.md): INV-GIT-1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeWfm, startFakeWfm } from "../../support/fake-wfm.ts";
import { GitWorkTree, gitEnv, sh } from "../../support/git-server.ts";
import { appYaml, DEVICE, makeGitAgent } from "./harness.ts";

const SSHD = "/usr/sbin/sshd";
const haveSshd = existsSync(SSHD);
const root = mkdtempSync(join(tmpdir(), "gitops-ssh-"));
let sshd: ReturnType<typeof Bun.spawn> | undefined;
let wfm: FakeWfm;
let port = 0;
const signal = new AbortController().signal;

function keygen(name: string): string {
  const path = join(root, name);
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  return path;
}

beforeAll(async () => {
  if (!haveSshd) return;
  wfm = startFakeWfm();
  wfm.set("/pkg/compose.yaml", "services:\n  web:\n    image: localhost/margo-test/busybox:1\n");
  const hostKey = keygen("host_ed25519");
  const client = keygen("device_ed25519");
  writeFileSync(join(root, "authorized_keys"), readFileSync(`${client}.pub`));
  // A free port: bind one, let it go, give it to sshd.
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  port = probe.port ?? 0;
  await probe.stop(true);
  writeFileSync(
    join(root, "sshd_config"),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(root, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(root, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  sshd = Bun.spawn([SSHD, "-D", "-e", "-f", join(root, "sshd_config")], { stdout: "ignore", stderr: "pipe" });
  // Ready when it accepts a connection.
  for (let i = 0; i < 100; i++) {
    try {
      const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      s.end();
      break;
    } catch {
      await Bun.sleep(50);
    }
  }
});
afterAll(() => {
  sshd?.kill();
  wfm?.stop();
});

const known = (hostPub: string) => {
  const path = join(root, `known_hosts-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `[127.0.0.1]:${port} ${readFileSync(hostPub, "utf8").split(" ").slice(0, 2).join(" ")}\n`);
  return path;
};

test.skipIf(!haveSshd)("ssh: the configured key and known_hosts fetch the folder; an unknown host key and an unknown key are refused", async () => {
  const bare = join(root, "fleet.git");
  sh(["git", "init", "--quiet", "--bare", "--initial-branch=main", bare], { env: gitEnv(root) });
  const work = new GitWorkTree(bare);
  work.write(`fleet/devices/${DEVICE}/web.yaml`, appYaml("web", wfm));
  work.commit("web over ssh");
  work.push();
  const url = `ssh://root@127.0.0.1:${port}${bare}`;

  const h = await makeGitAgent({ wfm, gitUrl: url, sets: [`git.sshKeyFile=${join(root, "device_ed25519")}`, `git.knownHostsFile=${known(join(root, "host_ed25519.pub"))}`] });
  const ok = await h.agent.sync.poll(signal);
  expect(ok.outcome).toBe("applied");
  expect(h.agent.store.getDeployment("web")?.state).toBe("installed");
  await h.agent.stop();

  // A server whose host key is not the one on file: a man in the middle, refused, nothing learnt.
  const otherHost = keygen("other_host_ed25519");
  const knownWrong = known(`${otherHost}.pub`);
  const mitm = await makeGitAgent({ wfm, gitUrl: url, sets: [`git.sshKeyFile=${join(root, "device_ed25519")}`, `git.knownHostsFile=${knownWrong}`] });
  const r1 = await mitm.agent.sync.poll(signal);
  expect("error" in r1 && r1.error.code).toBe("GIT_AUTH_FAILED");
  expect(readFileSync(knownWrong, "utf8").split("\n").filter(Boolean).length).toBe(1);
  await mitm.agent.stop();

  // A device key the server does not know.
  const stranger = keygen("stranger_ed25519");
  const denied = await makeGitAgent({ wfm, gitUrl: url, sets: [`git.sshKeyFile=${stranger}`, `git.knownHostsFile=${known(join(root, "host_ed25519.pub"))}`] });
  const r2 = await denied.agent.sync.poll(signal);
  expect("error" in r2 && r2.error.code).toBe("GIT_AUTH_FAILED");
  expect("error" in r2 && r2.error.message).toContain("Permission denied");
  await denied.agent.stop();
  work.cleanup();
}, 60_000);
