/**
 * What must survive a restart of the dev WFM: the manifestVersion counter and
 * the content digest it belongs to (the agent refuses a version that is not
 * greater than the last one it applied), the onboarded clients (v1) and the
 * retired client SPIFFE IDs (rc3; the CA and trust domain are in rc3/identity.ts).
 * Written atomically (temp file + rename) so a crash never leaves half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as v from "valibot";
import type { DevClient } from "./types.ts";

const StateSchema = v.object({
  manifestVersion: v.pipe(v.number(), v.integer(), v.minValue(0)),
  contentDigest: v.nullable(v.string()),
  clients: v.array(
    v.object({
      clientId: v.string(),
      certificate: v.nullable(v.string()),
      thumbprint: v.nullable(v.string()),
      approved: v.boolean(),
      onboardedAt: v.string(),
    }),
  ),
  retired: v.optional(v.array(v.string()), []),
});

export type PersistedState = v.InferOutput<typeof StateSchema>;

export const EMPTY_STATE: PersistedState = { manifestVersion: 0, contentDigest: null, clients: [], retired: [] };

/** The stored state, or EMPTY_STATE when there is no file yet. Throws naming the file when it is corrupt. */
export function loadState(file: string): PersistedState {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return structuredClone(EMPTY_STATE);
    throw new Error(`dev WFM state file ${file} cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`dev WFM state file ${file} is not JSON (${(err as Error).message}); fix or delete it (deleting restarts manifestVersion at 1, which an agent that saw a higher version will refuse)`);
  }
  const result = v.safeParse(StateSchema, json);
  if (!result.success) throw new Error(`dev WFM state file ${file} does not have the expected shape: ${result.issues[0]?.message}`);
  return result.output;
}

export function saveState(
  file: string,
  state: { manifestVersion: number; contentDigest: string | null; clients: readonly DevClient[]; retired?: readonly string[] },
): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const body = { manifestVersion: state.manifestVersion, contentDigest: state.contentDigest, clients: state.clients, retired: state.retired ?? [] };
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(tmp, file);
}
