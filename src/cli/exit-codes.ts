/** Exit codes of every command, documented in README.md. */
export const EXIT = {
  OK: 0,
  /** The command ran and failed (e.g. the WFM refused, the agent could not start). */
  FAILURE: 1,
  /** Wrong usage: unknown command or flag. */
  USAGE: 2,
  /** The configuration is invalid or missing. */
  CONFIG: 3,
  /** status/sync: the agent is not running (status still prints the stored state). */
  AGENT_DOWN: 4,
} as const;
