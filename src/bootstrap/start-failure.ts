/** A start-up stage that failed: its name (for the fatal log line) and what went wrong. */
export class StartFailure extends Error {
  constructor(
    readonly stage: string,
    override readonly cause: unknown,
  ) {
    super(`${stage}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = "StartFailure";
  }
}
