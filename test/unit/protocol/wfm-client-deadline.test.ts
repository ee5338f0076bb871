/**
 * WfmClient's request deadline (src/protocol/wfm-client.ts): requestTimeoutMs
 * bounds the whole exchange, the body included, and is cleared once the body
 * was read, so that an idle agent polling every 100 ms leaves no timer behind
 * per poll that fires 30 s later. A real server on loopback; the signals the
 * client hands to fetch are captured to see whether a deadline fired.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { AgentError } from "../../../src/errors/index.ts";
import { WfmClient } from "../../../src/protocol/wfm-client.ts";

const CLIENT = "/api/v1/clients/dev-1";
const MANIFEST = JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [] });

let server: ReturnType<typeof Bun.serve> | undefined;
afterEach(() => server?.stop(true));

function serve(answer: (req: Request) => Response | Promise<Response>): string {
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: answer });
  return `http://127.0.0.1:${server.port}`;
}

/** A client whose fetch records the deadline signal of every request. */
function clientOf(baseUrl: string, requestTimeoutMs: number, dates: string[] = []): { client: WfmClient; signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const client = new WfmClient({
    baseUrl,
    clientId: () => "dev-1",
    fetch: (url, init) => {
      signals.push(init.signal!);
      return fetch(url, init);
    },
    requestTimeoutMs,
    userAgent: "margo-agent-test",
    onServerDate: (d) => dates.push(d),
  });
  return { client, signals };
}

const pastDeadline = (ms: number) => Bun.sleep(ms * 3);

describe("the request deadline", () => {
  test("a 304 poll leaves no deadline behind: its signal never aborts", async () => {
    const base = serve(() => new Response(null, { status: 304, headers: { etag: '"m1"' } }));
    const { client, signals } = clientOf(base, 100);
    expect((await client.getManifest('"m1"', 1 << 20)).kind).toBe("not-modified");
    expect((await client.getManifest('"m1"', 1 << 20)).kind).toBe("not-modified");
    await pastDeadline(100);
    expect(signals).toHaveLength(2);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  });

  test("a manifest, an acknowledged report and an error answer: no deadline left behind either", async () => {
    const base = serve((req) => {
      const path = new URL(req.url).pathname;
      if (path === `${CLIENT}/deployments`) return new Response(MANIFEST, { headers: { etag: '"m1"', "content-type": "application/json" } });
      if (path.endsWith("/status")) return Response.json({ acknowledgement: "received" });
      return Response.json({ type: "about:blank", title: "nope", status: 503 }, { status: 503, headers: { "content-type": "application/problem+json" } });
    });
    const { client, signals } = clientOf(base, 100);
    expect((await client.getManifest(undefined, 1 << 20)).kind).toBe("manifest");
    expect((await client.postStatus("d1", "{}")).kind).toBe("accepted");
    await expect(client.getArtifact("/api/v1/clients/dev-1/bundles/x", "sha256:00", 1 << 20, "bundle")).rejects.toMatchObject({ code: "WFM_HTTP_ERROR" });
    await pastDeadline(100);
    expect(signals.map((s) => s.aborted)).toEqual([false, false, false]);
  });

  test("still bounds an answer whose headers came but whose body stalls", async () => {
    const base = serve(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('{"manifestVersion":'));
              // …and nothing more, never closed.
            },
          }),
          { headers: { etag: '"m1"', "content-type": "application/json" } },
        ),
    );
    const { client, signals } = clientOf(base, 150);
    const err = await client.getManifest(undefined, 1 << 20).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as Error).name).toBe("TimeoutError");
  });

  test("still bounds a server that never answers: WFM_UNREACHABLE naming the deadline", async () => {
    const base = serve(() => new Promise<Response>(() => {}));
    const { client } = clientOf(base, 150);
    const err = (await client.getManifest(undefined, 1 << 20).catch((e: unknown) => e)) as AgentError;
    expect(err).toBeInstanceOf(AgentError);
    expect(err.code).toBe("WFM_UNREACHABLE");
    expect(err.message).toContain("no answer within 150 ms");
  });
});

describe("the Date header", () => {
  test("every new value is handed on; the same value again within a second is not parsed again", async () => {
    let date = "Tue, 01 Dec 2026 10:00:00 GMT";
    const base = serve(() => new Response(null, { status: 304, headers: { date } }));
    const dates: string[] = [];
    const { client } = clientOf(base, 5000, dates);
    await client.getManifest('"m1"', 1 << 20);
    await client.getManifest('"m1"', 1 << 20);
    date = "Tue, 01 Dec 2026 10:00:01 GMT";
    await client.getManifest('"m1"', 1 << 20);
    // Bun.serve sets its own Date when the handler gives none; here it is always ours.
    expect(dates).toEqual(["Tue, 01 Dec 2026 10:00:00 GMT", "Tue, 01 Dec 2026 10:00:01 GMT"]);
  });
});
