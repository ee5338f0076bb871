import type { ErrorCode } from "./codes.ts";

/** An error with a stable code; `where` names the file, key or URL at fault. */
export class AgentError extends Error {
  override readonly name = "AgentError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Any thrown value as an AgentError, keeping the original as the cause. */
export function asAgentError(err: unknown, fallback: ErrorCode = "INTERNAL"): AgentError {
  if (err instanceof AgentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgentError(fallback, message, {}, { cause: err });
}
