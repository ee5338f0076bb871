/**
 * A real Git server on loopback for the GitOps tests: Debian's `git http-backend`
 * (smart HTTP, protocol v2) run as CGI (src/devwfm/git-http.ts) behind a small Bun HTTP server that checks
 * basic auth itself, counts requests, and can be taken down and brought back on
 * the same port. Repositories are bare directories under one root; tests change
 * them through a work tree (GitWorkTree) that pushes by path, so a force-push to
 * an older commit is exactly what a hostile or careless fleet operator would do.
 */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gitHttpBackend } from "../../src/devwfm/git-http.ts";


/** A fixed environment for the git commands the tests themselves run (never the agent's). */
export function gitEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Fleet Operator",
    GIT_AUTHOR_EMAIL: "ops@example.com",
    GIT_COMMITTER_NAME: "Fleet Operator",
    GIT_COMMITTER_EMAIL: "ops@example.com",
    GIT_TERMINAL_PROMPT: "0",
    ...extra,
  };
}

/** Runs git (or any argv) and throws with its stderr on failure. */
export function sh(argv: string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}): string {
  const r = Bun.spawnSync(argv, { cwd: opts.cwd, env: opts.env, stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

export interface GitServer {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** The clone URL of a repository under the root. */
  url(repo: string): string;
  /** Creates a bare repository (git's default upload-pack settings) and returns its directory. */
  createRepo(name: string): string;
  /** Requests served, by "METHOD /path?query" (auth failures included). */
  readonly requests: string[];
  /** Stops listening (connections refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export interface GitServerOptions {
  /** Basic auth: every request must carry exactly these credentials, else 401. */
  auth?: { user: string; password: string };
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), "git-server-"));
  const requests: string[] = [];
  const expected = opts.auth ? `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString("base64")}` : undefined;

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (expected && req.headers.get("authorization") !== expected) {
      return new Response("authentication required\n", { status: 401, headers: { "www-authenticate": 'Basic realm="git"' } });
    }
    return gitHttpBackend(req, { projectRoot: root, pathInfo: decodeURIComponent(url.pathname), remoteUser: opts.auth?.user });
  };

  const listen = (port: number) => Bun.serve({ hostname: "127.0.0.1", port, fetch: handler, idleTimeout: 120, ...(opts.tls ? { tls: opts.tls } : {}) });
  let server: ReturnType<typeof Bun.serve> | undefined = listen(0);
  const port = server.port ?? 0;
  const base = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    base,
    url: (repo) => `${base}/${repo}`,
    createRepo(name) {
      const dir = join(root, name);
      mkdirSync(dirname(dir), { recursive: true });
      sh(["git", "init", "--quiet", "--bare", "--initial-branch=main", dir], { env: gitEnv(root) });
      // git's defaults, the strictest a forge has: no fetching by commit id, no filters. The agent needs neither.
      return dir;
    },
    requests,
    async down() {
      await server?.stop(true);
      server = undefined;
    },
    async up() {
      if (!server) server = listen(port);
    },
    async stop() {
      await server?.stop(true);
      server = undefined;
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A work tree whose commits are pushed (by path, force allowed) into a bare
 * repository the server serves: how the tests change what the device sees.
 */
export class GitWorkTree {
  readonly dir: string;
  private readonly env: Record<string, string>;

  constructor(
    private readonly bare: string,
    extraEnv: Record<string, string> = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "git-work-"));
    this.env = gitEnv(this.dir, extraEnv);
    this.git("init", "--quiet", "--initial-branch=main");
  }

  git(...args: string[]): string {
    return sh(["git", ...args], { cwd: this.dir, env: this.env }).trim();
  }

  write(path: string, text: string): this {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), text);
    return this;
  }

  remove(path: string): this {
    this.git("rm", "-r", "-f", "--quiet", "--", path);
    return this;
  }

  /** Commits everything (allowing an empty commit) and returns the commit id. */
  commit(message: string, extra: string[] = []): string {
    this.git("add", "-A");
    this.git("commit", "--quiet", "--allow-empty", "-m", message, ...extra);
    return this.head();
  }

  head(): string {
    return this.git("rev-parse", "HEAD");
  }

  /** Pushes HEAD (or a given commit) to the bare repository's branch, forcing. */
  push(ref = "main", commit = "HEAD"): void {
    this.git("push", "--quiet", "--force", this.bare, `${commit}:refs/heads/${ref}`);
  }

  /** Pushes a lightweight tag. */
  pushTag(tag: string, commit = "HEAD"): void {
    this.git("push", "--quiet", "--force", this.bare, `${commit}:refs/tags/${tag}`);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
