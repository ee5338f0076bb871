/**
 * Issue 10 item 6, onboarding: a WFM that answers "not approved yet" (403) with
 * a body that never ends must read as ONBOARDING_PENDING (retried with backoff),
 * not as WFM_BODY_TOO_LARGE, and only a bounded prefix of it is read.
 *
 * Invariants held here (docs/architecture.md): INV-BOUND-1.
 */
import { afterAll, expect, test } from "bun:test";
import { silentLogger } from "../../../src/log.ts";
import { onboard } from "../../../src/onboarding/onboard.ts";
import { device } from "../identity/setup.ts";

let sent = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch() {
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    // An endless 403 body: the agent must stop reading on its own.
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    return new Response(body, { status: 403, headers: { "content-type": "text/plain" } });
  },
});
afterAll(() => server.stop(true));

test("an endless 403 to onboarding is ONBOARDING_PENDING, read only as far as its first KiBs", async () => {
  const d = await device(`http://127.0.0.1:${server.port}`);
  const err = await onboard({ client: d.client, identity: d.identity, log: silentLogger }).then(
    () => undefined,
    (e: unknown) => e as { code?: string },
  );
  expect(err?.code).toBe("ONBOARDING_PENDING");
  expect(sent).toBeLessThan(8 * 1024 * 1024);
  d.store.close();
});
