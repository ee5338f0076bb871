/**
 * Smart HTTP for a bare repository: Debian's `git http-backend` run as CGI, the
 * request body streamed in and the answer streamed out (a pack may be large).
 * For the dev WFM's `--git DIR` (git-repo.ts) and the tests' Git server.
 *
 * Bun.spawn directly, not the platform seam: the seam's run() buffers, and this
 * serves development and tests only, never a device.
 */

const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface GitHttpOptions {
  /** The directory holding the bare repositories (GIT_PROJECT_ROOT). */
  projectRoot: string;
  /** The repository-relative path of this request: /fleet.git/info/refs. */
  pathInfo: string;
  /** REMOTE_USER, when the caller authenticated one. */
  remoteUser?: string;
}

/** Reads the CGI head ("Status: 200 OK", headers, blank line) and streams the rest as the body. */
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
    const crlf = text.indexOf("\r\n\r\n");
    const lf = text.indexOf("\n\n");
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
    if (end < 0 && !done) continue;
    const sep = end === crlf && crlf >= 0 ? 4 : 2;
    const head = end >= 0 ? text.slice(0, end) : text;
    const rest = end >= 0 ? buf.slice(end + sep) : new Uint8Array(0);
    const headers = new Headers();
    let status = 200;
    for (const line of head.split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i < 0) continue;
      const k = line.slice(0, i).trim();
      const v = line.slice(i + 1).trim();
      if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]) || 500;
      else headers.append(k, v);
    }
    if (done) return new Response(rest.length ? rest : null, { status, headers });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (rest.length) controller.enqueue(rest);
      },
      async pull(controller) {
        const r = await reader.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      cancel() {
        void reader.cancel();
      },
    });
    return new Response(body, { status, headers });
  }
}

/** Answers one smart-HTTP request for a repository under projectRoot (read-only: receive-pack is off by default). */
export async function gitHttpBackend(req: Request, o: GitHttpOptions): Promise<Response> {
  const url = new URL(req.url);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: o.projectRoot,
    GIT_PROJECT_ROOT: o.projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    PATH_INFO: o.pathInfo,
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REQUEST_METHOD: req.method,
    CONTENT_TYPE: req.headers.get("content-type") ?? "",
    REMOTE_ADDR: "127.0.0.1",
    REMOTE_USER: o.remoteUser ?? "",
  };
  // Protocol v2 is asked for with this header; http-backend reads it as GIT_PROTOCOL.
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
}
