/**
 * The field commands' one rule (README, "Local status API and the
 * field-engineer CLI"): ask the running agent through its local API; when it
 * cannot be asked, say why and read the state stored in dataDir, read-only.
 * `status`, `deployments` and `journal` share it.
 */
import { AgentUnreachable, ApiError, type ApiClient } from "../api/client.ts";
import type { OfflineReader } from "../api/offline.ts";
import { EXIT } from "./exit-codes.ts";

export type AgentAnswer<T> =
  | { value: T }
  /** The agent could not be asked: why, for the message. */
  | { down: string }
  /** It answered with an error: already printed. */
  | { exit: number };

export const API_DISABLED = "the local API is disabled (api.enabled=false), so the agent cannot be asked";

/** Asks the running agent; an agent that is not there (or an API that is off) is `down`, not an error. */
export async function askAgent<T>(command: string, client: ApiClient | undefined, ask: (client: ApiClient) => Promise<T>): Promise<AgentAnswer<T>> {
  if (!client) return { down: API_DISABLED };
  try {
    return { value: await ask(client) };
  } catch (err) {
    if (err instanceof ApiError) {
      console.error(`margo-agent ${command}: ${err.message}`);
      return { exit: EXIT.FAILURE };
    }
    if (!(err instanceof AgentUnreachable)) throw err;
    return { down: err.message };
  }
}

/** Runs `fn` on the stored state (undefined when there is no state database), and closes it. */
export async function withStoredState<T>(dataDir: string, fn: (stored: OfflineReader | undefined) => T | Promise<T>): Promise<T> {
  const { bunPlatform } = await import("../platform/bun/index.ts");
  const { openStoredState } = await import("../api/offline.ts");
  const stored = openStoredState(bunPlatform, dataDir);
  try {
    return await fn(stored);
  } finally {
    stored?.close();
  }
}
