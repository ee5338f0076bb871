/** The check report as a table for people. Pure. */
import type { Painter, Style } from "../render/color.ts";
import type { CheckReport, Level } from "./finding.ts";

const STYLE: Record<Level, Style | undefined> = { ok: "green", warning: "yellow", error: "red", skipped: "dim" };

export function renderCheck(r: CheckReport, paint: Painter): string {
  const width = Math.max(...r.checks.map((c) => c.check.length));
  const lines = [`margo-agent check${r.config ? ` (config ${r.config})` : " (no configuration file)"}`, ""];
  for (const c of r.checks) {
    const code = c.code && c.level !== "ok" ? ` [${c.code}]` : "";
    lines.push(`  ${paint(c.level.padEnd(8), STYLE[c.level])} ${c.check.padEnd(width)}  ${c.message}${code}`);
  }
  const verdict = r.errors ? paint("the device cannot work as configured: fix the errors", "red") : r.warnings ? paint("the agent can run; look at the warnings", "yellow") : paint("all checks passed", "green");
  lines.push("", `${r.errors} error(s), ${r.warnings} warning(s): ${verdict}`);
  return lines.join("\n");
}
