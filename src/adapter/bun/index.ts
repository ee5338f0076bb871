import type { Platform } from "../../platform/types.ts";
import { run } from "./process.ts";
import { serve } from "./serve.ts";
import { openDatabase } from "./sqlite.ts";

export const bunPlatform: Platform = {
  openDatabase,
  run,
  serve,
  fetch: (input, init, tls) =>
    // Bun's fetch verifies TLS against the system store; `ca` adds the configured CA file.
    fetch(input, tls?.ca ? ({ ...init, tls: { ca: tls.ca } } as RequestInit) : init),
  executablePath: () => process.execPath.endsWith("/bun") ? (Bun.main ?? process.execPath) : process.execPath,
};
