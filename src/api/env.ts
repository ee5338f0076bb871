import type { PeerInfo } from "../platform/types.ts";
import type { StatusSource } from "./source.ts";

/** Hono bindings: the peer comes from the server (app.fetch's second argument), the source from createLocalApi. */
export interface ApiEnv {
  Bindings: { peer?: PeerInfo };
  Variables: { source: StatusSource };
}
