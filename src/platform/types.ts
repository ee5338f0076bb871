/**
 * The platform seam: the only APIs the core needs from its JavaScript runtime.
 * src/platform/bun implements them; a Deno implementation would do the same, and
 * the protocol and reconcile logic import nothing runtime-specific.
 */

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface Statement<Row> {
  get(...params: SqlValue[]): Row | null;
  all(...params: SqlValue[]): Row[];
  run(...params: SqlValue[]): { changes: number; lastInsertRowid: number | bigint };
}

export interface SqlDatabase {
  exec(sql: string): void;
  prepare<Row = Record<string, SqlValue>>(sql: string): Statement<Row>;
  /** Runs fn in one transaction (BEGIN IMMEDIATE ... COMMIT), rolling back on throw. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the process was killed on timeout or abort. */
  killed: boolean;
  /** stdout's exact bytes, when asked with RunOptions.binaryStdout (stdout is then ""). */
  stdoutBytes?: Uint8Array;
  /** True when stdout went past RunOptions.maxOutputBytes: the process was killed and stdout cut there. */
  overflow?: boolean;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  stdin?: string;
  /**
   * Bound on stdout: past it the process is killed (result.overflow). stderr is
   * then kept to its first 64 KiB too. For tools whose output a remote party
   * controls (git talking to a Git server).
   */
  maxOutputBytes?: number;
  /** Keep stdout as bytes (result.stdoutBytes), not decoded text. */
  binaryStdout?: boolean;
}

/** A process whose output is read as it comes (container logs --follow). */
export interface StreamingProcess {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  /** The exit code (a missing binary: 127). */
  exited: Promise<number>;
  /** Ends the process (SIGTERM); safe to call more than once. */
  kill(): void;
}

export interface HttpServerHandle {
  readonly port: number;
  readonly hostname: string;
  stop(): Promise<void>;
}

/** Who is on the other end of a request: the API's token rules differ for loopback peers. */
export interface PeerInfo {
  /** The client's IP address; null on a unix socket (access there is gated by the socket's file mode). */
  address: string | null;
  /**
   * The answer is a stream that may stay quiet for long (logs --follow): keep
   * the connection open without an idle timeout. Absent where the server has
   * no idle timeout.
   */
  streaming?(): void;
}

export interface ServeOptions {
  hostname: string;
  port: number;
  /** When set, listen on this unix socket instead of TCP. */
  unix?: string;
}

export interface Platform {
  /**
   * cacheStatements false: every statement is compiled for its one use and
   * freed, for the fleet simulator's thousands of small databases, where a
   * cache of compiled statements per database would outweigh the data.
   */
  openDatabase(path: string, opts?: { readonly?: boolean; cacheStatements?: boolean }): SqlDatabase;
  /** Runs argv directly (never through a shell). A missing binary gives code 127. */
  run(argv: string[], opts?: RunOptions): Promise<ProcessResult>;
  /** Runs argv directly (never through a shell), its output streamed; killed when `signal` aborts. */
  spawnStreaming?(argv: string[], opts: { env?: Record<string, string>; signal?: AbortSignal }): StreamingProcess;
  serve(fetch: (req: Request, peer: PeerInfo) => Response | Promise<Response>, opts: ServeOptions): HttpServerHandle;
  /**
   * fetch, verifying TLS against the default trust store (bundled and system
   * CAs) plus an optional extra CA bundle (PEM). `insecure` skips verification
   * for this one request: only trust-on-first-use of the WFM's root CA may ask.
   */
  fetch(input: string | URL, init: RequestInit, tls?: { ca?: string; insecure?: boolean }): Promise<Response>;
  /** Absolute path of the running executable (or script), for self-hashing. */
  executablePath(): string;
}

/**
 * Mutual-TLS options for a pooled client session (the rc3 profile,
 * docs/identity-rc3.md): the client's chain and key, the trust anchors, and a
 * server identity check that replaces the hostname check.
 */
export interface ClientTlsOptions {
  cert: string;
  key: string;
  ca: string[];
  rejectUnauthorized: true;
  minVersion: number;
  checkServerIdentity: (hostname: string, cert: { raw?: Uint8Array }) => Error | undefined;
}

/** A pool of connections sharing one set of TLS options. */
export interface TlsSession {
  fetch(url: string, init: RequestInit): Promise<Response>;
  /** Closes idle connections; requests in flight finish. */
  close(): void;
}

export type SessionFactory = (tls: ClientTlsOptions) => TlsSession;
