/**
 * The pure parts of the GitOps source: what git prints, turned into files,
 * tips and errors (src/gitops/folder.ts, remote-tip.ts, version.ts,
 * git-cli.ts), and the git config file the credentials live in (git-home.ts).
 */
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../src/config/load.ts";
import { desiredFromFolder, fromStoreGit } from "../../../src/gitops/desired.ts";
import { parseCatFileBatch, parseLsTree, planFolder } from "../../../src/gitops/folder.ts";
import { classifyRemoteFailure } from "../../../src/gitops/git-cli.ts";
import { gitConfigText } from "../../../src/gitops/git-home.ts";
import { pickTip } from "../../../src/gitops/remote-tip.ts";
import { gitSettings } from "../../../src/gitops/settings.ts";
import { commitVersion, versionAbbrev } from "../../../src/gitops/version.ts";
import { AgentError } from "../../../src/errors/index.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

describe("git output", () => {
  test("ls-remote: a branch wins over a tag; an annotated tag is peeled; a missing ref is GIT_REF_NOT_FOUND", () => {
    const out = `${A}\trefs/heads/main\n${B}\trefs/tags/main\n${C}\trefs/tags/v1\n${A}\trefs/tags/v1^{}\n${B}\trefs/heads/feature/main\n`;
    expect(pickTip(out, "main", "u")).toEqual({ commit: A, ref: "refs/heads/main" });
    expect(pickTip(out, "v1", "u")).toEqual({ commit: A, ref: "refs/tags/v1" });
    expect(pickTip(out, "refs/tags/main", "u")).toEqual({ commit: B, ref: "refs/tags/main" });
    expect(() => pickTip(out, "release", "https://h/f.git")).toThrow("has no branch or tag of that name");
    // ls-remote matches patterns by their tail: refs/heads/feature/main is not "main".
    expect(() => pickTip(`${B}\trefs/heads/feature/main\n`, "main", "u")).toThrow(AgentError);
  });

  test("ls-tree -l -z, names with spaces, tabs and newlines kept exactly", () => {
    const out = `100644 blob ${A}     120\tweb.yaml\x00040000 tree ${B}       -\tsub dir\x00120000 blob ${C}      11\tlink.yaml\x00100644 blob ${A}      3\tname\twith\ntab.yaml\x00`;
    expect(parseLsTree(out)).toEqual([
      { mode: "100644", type: "blob", oid: A, size: 120, name: "web.yaml" },
      { mode: "040000", type: "tree", oid: B, size: undefined, name: "sub dir" },
      { mode: "120000", type: "blob", oid: C, size: 11, name: "link.yaml" },
      { mode: "100644", type: "blob", oid: A, size: 3, name: "name\twith\ntab.yaml" },
    ]);
    expect(() => parseLsTree("garbage\x00")).toThrow("should not");
  });

  test("the folder plan: one deployment per <id>.yaml; links, duplicates, oversize refused unread; other files ignored", () => {
    const e = (name: string, size: number, mode = "100644", type = "blob", oid = A) => ({ mode, type, oid, size, name });
    const plan = planFolder([e("web.yaml", 10), e("db.yml", 10, "100644", "blob", B), e("db.yaml", 10), e("link.yaml", 5, "120000"), e("big.yaml", 2000), e("README.md", 5), e("-x.yaml", 5), e("sub", 0, "040000", "tree"), e(".hidden.yaml", 1)], 1000, "devices/d1");
    expect(plan.files.map((f) => `${f.id} ${f.read ? "read" : (f as { error: AgentError }).error.message}`)).toEqual([
      "big deployment big: devices/d1/big.yaml is 2000 bytes, over limits.deploymentBytes (1000); not read",
      "db deployment db: defined twice, by devices/d1/db.yml and devices/d1/db.yaml; keep one",
      "link deployment link: devices/d1/link.yaml is a symbolic link; links are not followed, put the file itself in the folder",
      "web read",
    ]);
    expect(plan.skipped.map((s) => s.name)).toEqual(["-x.yaml", ".hidden.yaml"]);
  });

  test("cat-file --batch: exact bytes per blob, any byte value; a short or mismatched answer is refused", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const bin = new Uint8Array([0xff, 0x0a, 0x00]);
    const out = new Uint8Array([...enc(`${A} blob 3\n`), ...bin, 0x0a, ...enc(`${B} blob 2\nhi\n`)]);
    const blobs = parseCatFileBatch(out, [{ oid: A, size: 3 }, { oid: B, size: 2 }]);
    expect([...blobs.get(A)!]).toEqual([...bin]);
    expect(new TextDecoder().decode(blobs.get(B)!)).toBe("hi");
    expect(() => parseCatFileBatch(out.slice(0, 20), [{ oid: A, size: 3 }])).toThrow();
    expect(() => parseCatFileBatch(out, [{ oid: B, size: 3 }])).toThrow("answered");
  });

  test("a refused file's stand-in keeps its reason through the store's re-verification", () => {
    const plan = planFolder([{ mode: "100644", type: "blob", oid: A, size: 5000, name: "big.yaml" }], 1000, "d");
    const desired = desiredFromFolder(plan.files, new Map(), "d").get("big")!;
    expect(desired.parsed).toBeInstanceOf(AgentError);
    const row = { id: "big", name: "big", digest: desired.digest, yaml: desired.yaml, state: "failed", components: [], manifestVersion: "1", sinceMs: 0, attempts: 1, wanted: true } as never;
    const back = fromStoreGit(row);
    expect((back.parsed as AgentError).message).toBe((desired.parsed as AgentError).message);
    // Tampering with the stored stand-in still shows as tampering.
    expect((fromStoreGit({ ...(row as object), yaml: desired.yaml.replace("5000", "50") } as never).parsed as AgentError).code).toBe("STORE_TAMPERED");
  });

  test("a commit's version: its first 16 hex digits as a u64, and back", () => {
    const commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";
    expect(commitVersion(commit)).toBe(0x0f1e2d3c4b5a6978n);
    expect(versionAbbrev(commitVersion(commit))).toBe(commit.slice(0, 16));
    expect(commitVersion("f".repeat(64))).toBe(2n ** 64n - 1n);
    expect(() => commitVersion("main")).toThrow();
  });

  test("git's failures in the agent's words", () => {
    expect(classifyRemoteFailure("fatal: Authentication failed for 'https://h/f.git/'")).toBe("GIT_AUTH_FAILED");
    expect(classifyRemoteFailure("fatal: unable to access 'https://h/': The requested URL returned error: 403")).toBe("GIT_AUTH_FAILED");
    expect(classifyRemoteFailure("git@h: Permission denied (publickey).\r\nfatal: Could not read from remote repository.")).toBe("GIT_AUTH_FAILED");
    expect(classifyRemoteFailure("Host key verification failed.\nfatal: Could not read from remote repository.")).toBe("GIT_AUTH_FAILED");
    expect(classifyRemoteFailure("fatal: unable to access 'http://127.0.0.1:9/f/': Failed to connect to 127.0.0.1 port 9: Connection refused")).toBe("GIT_UNREACHABLE");
    expect(classifyRemoteFailure("fatal: unable to access 'https://h/': Could not resolve host: h")).toBe("GIT_UNREACHABLE");
    expect(classifyRemoteFailure("fatal: unable to access 'https://h/': The requested URL returned error: 502")).toBe("GIT_UNREACHABLE");
    expect(classifyRemoteFailure("fatal: not a git repository")).toBe("GIT_FAILED");
  });
});

describe("the git config file", () => {
  const settings = (...sets: string[]) => gitSettings(loadConfig({ sets: ["wfm.url=https://wfm.example.com", "desiredState.source=git", "dataDir=/var/lib/margo-agent", ...sets] }), "edge-1");

  test("https: the token as basic auth for this URL only; no helper, no askpass, no redirects; only https allowed", () => {
    const text = gitConfigText(settings("git.url=https://git.example.com/fleet.git"), { token: "tok-123", connectTimeoutS: 30 });
    expect(text).toContain(`[http "https://git.example.com/fleet.git"]\n\textraHeader = "Authorization: Basic ${Buffer.from("x-access-token:tok-123").toString("base64")}"`);
    expect(text).toContain('[credential]\n\thelper = ""');
    expect(text).toContain('askPass = ""');
    expect(text).toContain('followRedirects = "false"');
    expect(text).toContain('[protocol]\n\tallow = "never"');
    expect(text).toContain('[protocol "https"]\n\tallow = "always"');
    expect(text).not.toContain("sshCommand");
    expect(gitConfigText(settings("git.url=https://git.example.com/fleet.git"), { token: "bot:tok", connectTimeoutS: 30 })).toContain(Buffer.from("bot:tok").toString("base64"));
  });

  test("ssh: only the configured key and known_hosts, strict host key checking, no agent, no prompt", () => {
    const text = gitConfigText(settings("git.url=ssh://git@git.example.com/fleet.git", "git.sshKeyFile=/etc/margo/id_ed25519", "git.knownHostsFile=/etc/margo/known_hosts"), { connectTimeoutS: 10 });
    const line = /sshCommand = "(.*)"/.exec(text)![1]!;
    expect(line).toBe("ssh -F /dev/null -i '/etc/margo/id_ed25519' -o UserKnownHostsFile='/etc/margo/known_hosts' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o ConnectTimeout=10");
    expect(text).toContain('[protocol "ssh"]\n\tallow = "always"');
    expect(text).not.toContain("extraHeader");
  });

  test("signature settings: ssh uses the allowed_signers file; gpg the agent's own GnuPG home", () => {
    expect(gitConfigText(settings("git.url=https://h/f.git", "git.verify.mode=ssh", "git.verify.keysFile=/etc/margo/allowed_signers"), { connectTimeoutS: 1 })).toContain('[gpg "ssh"]\n\tallowedSignersFile = "/etc/margo/allowed_signers"');
    expect(gitConfigText(settings("git.url=https://h/f.git", "git.verify.mode=gpg", "git.verify.keysFile=/k.asc"), { connectTimeoutS: 1 })).toContain('format = "openpgp"');
  });

  test("a token with a newline cannot add config of its own", () => {
    expect(() => gitConfigText(settings("git.url=https://h/f.git"), { token: "x\n[core]\n\tsshCommand = touch /tmp/pwned", connectTimeoutS: 1 })).not.toThrow();
    const text = gitConfigText(settings("git.url=https://h/f.git"), { token: "x\n[core]\n\tsshCommand = touch /tmp/pwned", connectTimeoutS: 1 });
    expect(text).not.toContain("touch /tmp/pwned");
  });
});
