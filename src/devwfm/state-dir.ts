/**
 * Where the dev WFM keeps its state. The CLI's default is a per-user folder
 * independent of --dir (XDG base directories: $XDG_STATE_HOME, else
 * ~/.local/state), so that restarting it on another folder keeps the clients,
 * the CA and the manifestVersion counter an agent has already seen.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export const STATE_FILE_NAME = "state.json";
/** Where state.json lived before the state dir existed (and still does for embedded callers). */
export const LEGACY_STATE_DIR = ".dev-wfm";

export function defaultStateDir(env: Record<string, string | undefined> = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  // XDG: a relative value is invalid and must be ignored.
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? homedir(), ".local", "state");
  return path.join(base, "margo-dev-wfm");
}

export interface StatePaths {
  stateDir: string;
  stateFile: string;
}

/** stateDir wins; else the folder of stateFile; else DIR/.dev-wfm. */
export function resolveStatePaths(opts: { dir: string; stateDir?: string; stateFile?: string }): StatePaths {
  if (opts.stateDir !== undefined) {
    const stateDir = path.resolve(opts.stateDir);
    return { stateDir, stateFile: path.join(stateDir, STATE_FILE_NAME) };
  }
  if (opts.stateFile !== undefined) {
    const stateFile = path.resolve(opts.stateFile);
    return { stateDir: path.dirname(stateFile), stateFile };
  }
  const stateDir = path.join(path.resolve(opts.dir), LEGACY_STATE_DIR);
  return { stateDir, stateFile: path.join(stateDir, STATE_FILE_NAME) };
}

/**
 * A state dir without state.json, for a folder that has DIR/.dev-wfm/state.json
 * from before: copies it over, so the counter an agent saw does not restart
 * at 1 (which the agent would refuse as a rollback). Returns the file copied.
 */
export function adoptLegacyState(dir: string, paths: StatePaths): string | undefined {
  const legacy = path.join(path.resolve(dir), LEGACY_STATE_DIR, STATE_FILE_NAME);
  if (legacy === paths.stateFile || existsSync(paths.stateFile) || !existsSync(legacy)) return undefined;
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  copyFileSync(legacy, paths.stateFile);
  return legacy;
}
