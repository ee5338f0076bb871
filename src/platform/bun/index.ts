import { getCACertificates } from "node:tls";
import type { Platform } from "../types.ts";
import { run } from "./process.ts";
import { serve } from "./serve.ts";
import { openDatabase } from "./sqlite.ts";
import { spawnStreaming } from "./streaming.ts";

export const bunPlatform: Platform = {
  openDatabase,
  run,
  spawnStreaming,
  serve,
  fetch: (input, init, tls) => {
    if (tls?.insecure) return fetch(input, { ...init, tls: { rejectUnauthorized: false } } as RequestInit);
    // An explicit `ca` replaces Bun's trust store, so the defaults (bundled and
    // system CAs) go in beside the configured CA file.
    if (tls?.ca) return fetch(input, { ...init, tls: { ca: [...defaultCas(), tls.ca] } } as RequestInit);
    return fetch(input, init);
  },
  executablePath: () => process.execPath.endsWith("/bun") ? (Bun.main ?? process.execPath) : process.execPath,
};

let cas: string[] | undefined;
function defaultCas(): string[] {
  cas ??= getCACertificates("default");
  return cas;
}
