/**
 * The CLI's client for the running agent's local API (TCP or unix socket).
 * A transport failure means "the agent is not answering"; HTTP errors carry
 * the API's JSON error.
 */
import { readPrefix } from "../protocol/read-body.ts";
import { clientBaseUrl, type ListenTarget } from "./listen.ts";

/** Far above any real answer (10,000 deployments are a few MB), far below a memory risk: whatever answers on the socket may not be our agent. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export class AgentUnreachable extends Error {}

/** A short reason for a failed connection, without the runtime's boilerplate. */
function transportReason(err: unknown): string {
  const e = err as Error & { code?: string };
  if (e.code === "ECONNREFUSED" || e.code === "ConnectionRefused") return "connection refused";
  if (e.code === "ENOENT" || e.code === "FailedToOpenSocket") return "no socket there";
  if (e.name === "TimeoutError") return "no answer in time";
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiClient {
  /** Where the agent was asked, for messages. */
  readonly where: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string): Promise<T>;
  /** A text answer read as it comes (logs); the timeout covers only the wait for its headers. */
  stream(path: string): Promise<ReadableStream<Uint8Array>>;
}

export function apiClient(target: ListenTarget, token: string | null, timeoutMs = 120_000): ApiClient {
  const base = clientBaseUrl(target);
  const where = target.kind === "unix" ? `unix:${target.path}` : base;
  async function send(method: string, path: string, accept: string, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      // `unix` is Bun's fetch extension for unix sockets (ignored elsewhere; a Deno build would pass a client instead).
      const init = { method, headers, signal, ...(target.kind === "unix" ? { unix: target.path } : {}) };
      return await fetch(`${base}${path}`, init as RequestInit);
    } catch (err) {
      throw new AgentUnreachable(`no agent answers at ${where} (${transportReason(err)})`);
    }
  }
  async function call<T>(method: string, path: string): Promise<T> {
    const res = await send(method, path, "application/json", AbortSignal.timeout(timeoutMs));
    const { text, complete } = await readPrefix(res, MAX_ANSWER_BYTES);
    if (!complete) throw new ApiError(res.status, "API_INVALID_ANSWER", `${method} ${where}${path}: answered ${res.status} with a body that broke off or exceeds ${MAX_ANSWER_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, "API_INVALID_ANSWER", `${method} ${where}${path}: answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok && !(res.status === 503 && path.endsWith("z"))) {
      const err = (body as { error?: { code?: string; message?: string } }).error;
      throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, `${method} ${where}${path}: ${res.status} ${err?.code ?? ""} ${err?.message ?? text.slice(0, 200)}`.trim());
    }
    return body as T;
  }
  async function stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException("no answer in time", "TimeoutError")), timeoutMs);
    let res: Response;
    try {
      res = await send("GET", path, "text/plain", abort.signal);
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) {
      const { text } = await readPrefix(res, 64 * 1024);
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: typeof err }).error;
      } catch {
        err = undefined;
      }
      throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, `GET ${where}${path}: ${res.status} ${err?.code ?? ""} ${err?.message ?? text.slice(0, 200)}`.trim());
    }
    return res.body;
  }
  return { where, get: (p) => call("GET", p), post: (p) => call("POST", p), stream };
}
