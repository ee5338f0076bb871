/**
 * The environment a service start gives the agent: the `Environment=` lines of
 * init/margo-agent.service (the OpenRC and SysV scripts and the Containerfile
 * set the same; test/unit/build/service-env.test.ts holds them to it). The
 * bench starts the agent with it, so its figures are those of a device.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** `Environment=` assignments of a systemd unit, in order (later ones win, as in systemd). */
export function unitEnvironment(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unit.split("\n")) {
    const m = /^\s*Environment=(.*)$/.exec(line);
    if (!m) continue;
    // Space-separated assignments, each optionally in double quotes (systemd.exec(5)).
    for (const token of m[1]!.match(/"[^"]*"|\S+/g) ?? []) {
      const assignment = token.startsWith('"') ? token.slice(1, -1) : token;
      const eq = assignment.indexOf("=");
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

export function serviceEnvironment(repoRoot: string): Record<string, string> {
  return unitEnvironment(readFileSync(join(repoRoot, "init/margo-agent.service"), "utf8"));
}
