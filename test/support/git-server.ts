/**
 * A real Git server on loopback for the GitOps tests: Debian's `git http-backend`
 * (smart HTTP, protocol v2) run as CGI behind a small Bun HTTP server that checks
 * basic auth itself, counts requests, and can be taken down and brought back on
 * the same port. Repositories are bare directories under one root; tests change
 * them through a work tree (GitWorkTree) that pushes by path, so a force-push to
 * an older commit is exactly what a hostile or careless fleet operator would do.
 */
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

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
  /** Creates a bare repository (serving partial clone filters too) and returns its directory. */
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
}

/** Parses the CGI response head ("Status: 200 OK", headers, blank line) off the backend's stdout. */
async function cgiResponse(stdout: ReadableStream<Uint8Array>): Promise<Response> {
  const reader = stdout.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (value) {
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
    }
    const text = new TextDecoder("latin1").decode(buf);
    const end = text.indexOf("\r\n\r\n") >= 0 ? text.indexOf("\r\n\r\n") : text.indexOf("\n\n");
    if (end >= 0 || done) {
      const sep = text.indexOf("\r\n\r\n") >= 0 ? 4 : 2;
      const head = end >= 0 ? text.slice(0, end) : text;
      const rest = end >= 0 ? buf.slice(end + sep) : new Uint8Array(0);
      const headers = new Headers();
      let status = 200;
      for (const line of head.split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const val = line.slice(i + 1).trim();
        if (k.toLowerCase() === "status") status = Number(val.split(" ")[0]);
        else headers.append(k, val);
      }
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (rest.length) controller.enqueue(rest);
        },
        async pull(controller) {
          const { value: v, done: d } = await reader.read();
          if (d) controller.close();
          else controller.enqueue(v);
        },
        cancel() {
          void reader.cancel();
        },
      });
      return new Response(done && rest.length === 0 ? null : body, { status, headers });
    }
  }
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
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: root,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      REQUEST_METHOD: req.method,
      CONTENT_TYPE: req.headers.get("content-type") ?? "",
      REMOTE_ADDR: "127.0.0.1",
      REMOTE_USER: opts.auth?.user ?? "",
    };
    // Protocol v2 is negotiated through this header; http-backend reads it as GIT_PROTOCOL.
    const proto = req.headers.get("git-protocol");
    if (proto) env.GIT_PROTOCOL = proto;
    const encoding = req.headers.get("content-encoding");
    if (encoding) env.HTTP_CONTENT_ENCODING = encoding;
    const length = req.headers.get("content-length");
    if (length) env.CONTENT_LENGTH = length;
    const proc = Bun.spawn([HTTP_BACKEND], { env, stdin: req.body ? "pipe" : "ignore", stdout: "pipe", stderr: "ignore" });
    if (req.body && proc.stdin) {
      const sink = proc.stdin;
      void (async () => {
        try {
          for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) sink.write(chunk);
        } catch {
          // the client went away
        }
        sink.end();
      })();
    }
    return cgiResponse(proc.stdout as ReadableStream<Uint8Array>);
  };

  let server: ReturnType<typeof Bun.serve> | undefined = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler, idleTimeout: 120 });
  const port = server.port;
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    url: (repo) => `${base}/${repo}`,
    createRepo(name) {
      const dir = join(root, name);
      mkdirSync(dirname(dir), { recursive: true });
      sh(["git", "init", "--quiet", "--bare", "--initial-branch=main", dir], { env: gitEnv(root) });
      // What a hosted forge allows too: fetching a commit by id, and partial clone filters.
      sh(["git", "-C", dir, "config", "uploadpack.allowFilter", "true"], { env: gitEnv(root) });
      sh(["git", "-C", dir, "config", "uploadpack.allowAnySHA1InWant", "true"], { env: gitEnv(root) });
      return dir;
    },
    requests,
    async down() {
      await server?.stop(true);
      server = undefined;
    },
    async up() {
      if (!server) server = Bun.serve({ hostname: "127.0.0.1", port, fetch: handler, idleTimeout: 120 });
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
