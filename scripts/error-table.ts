/** Prints the error-code table for README.md from src/errors/codes.ts (the one source). */
import { ERROR_CODES } from "../src/errors/codes.ts";

export function errorTable(): string {
  return ["| code | meaning |", "| --- | --- |", ...Object.entries(ERROR_CODES).map(([code, text]) => `| \`${code}\` | ${text.replace(/\|/g, "\\|")} |`)].join("\n");
}

if (import.meta.main) console.log(errorTable());
