/**
 * A CLI command: one file per command under src/cli/commands/. `run` returns
 * the process exit code (see EXIT in exit-codes.ts); it never calls process.exit.
 */
export interface Command {
  name: string;
  summary: string;
  /** Full --help text. */
  usage: string;
  run(argv: string[]): Promise<number>;
}
