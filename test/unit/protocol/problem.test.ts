import { describe, expect, test } from "bun:test";
import { isContentProblem, isIdentityProblem, problemKind, readProblem, type ErrorAnswer } from "../../../src/protocol/problem.ts";
import { nextDelay, parseProblem } from "../../../src/journal/retry-timing.ts";
import { validateRc3 } from "./rc3-openapi.ts";

const NS = "https://docs.margo.org/specification/problem-types";
const NOW = Date.parse("2026-11-28T12:00:00Z");
const problemJson = (status: number, extra: Record<string, unknown> = {}, retryAfter: string | null = null): ErrorAnswer => ({
  status,
  contentType: "application/problem+json",
  body: JSON.stringify({ type: "about:blank", title: "T", status, ...extra }),
  retryAfter,
});

describe("problem+json: the retry table of api-requirements-and-security (Retry Semantics)", () => {
  // | Response | Retry-After | retryable | backoffStrategy |
  const table: [number, boolean, string][] = [
    [429, true, "exponential"],
    [503, true, "exponential"],
    [500, true, "exponential"],
    [400, false, "none"],
    [401, false, "none"],
    [403, false, "none"],
    [404, false, "none"],
    [406, false, "none"],
    [409, false, "none"],
    [422, false, "none"],
    [501, false, "none"],
  ];
  for (const [status, retryable, strategy] of table) {
    test(`${status}: retryable ${retryable}, ${strategy} (no hints in the body)`, () => {
      const p = readProblem(problemJson(status), NOW);
      expect([p.retryable, p.backoffStrategy] as unknown[]).toEqual([retryable, strategy]);
    });
  }

  test("Retry-After outranks retryAfterSeconds, as delta-seconds and as an HTTP-date", () => {
    expect(readProblem(problemJson(429, { retryable: true, retryAfterSeconds: 5 }, "120"), NOW).retryAfterMs).toBe(120_000);
    expect(readProblem(problemJson(503, { retryAfterSeconds: 5 }, "Sat, 28 Nov 2026 12:00:30 GMT"), NOW).retryAfterMs).toBe(30_000);
    expect(readProblem(problemJson(503, { retryAfterSeconds: 5 }), NOW).retryAfterMs).toBe(5_000);
    // A Retry-After that is junk does not hide the body's advice.
    expect(readProblem(problemJson(503, { retryAfterSeconds: 7 }, "soon"), NOW).retryAfterMs).toBe(7_000);
    expect(readProblem(problemJson(503), NOW).retryAfterMs).toBeUndefined();
  });

  test("the body's own retryable and backoffStrategy decide over the table", () => {
    // spec problem-types.md: spiffe-bundle-not-found is a 404 that says retryable, exponential.
    const bundle = readProblem(problemJson(404, { type: `${NS}#spiffe-bundle-not-found`, retryable: true, retryAfterSeconds: 30, backoffStrategy: "exponential" }), NOW);
    expect([bundle.kind, bundle.retryable, bundle.backoffStrategy, bundle.retryAfterMs]).toEqual(["spiffe-bundle-not-found", true, "exponential", 30_000]);
    expect(readProblem(problemJson(503, { retryable: false }), NOW)).toMatchObject({ retryable: false, backoffStrategy: "none" });
    expect(readProblem(problemJson(503, { backoffStrategy: "none" }), NOW)).toMatchObject({ retryable: false, backoffStrategy: "none" });
    expect(readProblem(problemJson(429, { backoffStrategy: "fixed", retryAfterSeconds: 3 }), NOW)).toMatchObject({ retryable: true, backoffStrategy: "fixed", retryAfterMs: 3000 });
  });

  test("a 502/504 without a problem body is a gateway's, retried; with one, the table decides", () => {
    expect(readProblem({ status: 502, contentType: "text/html", body: "<h1>Bad Gateway</h1>", retryAfter: null }, NOW).retryable).toBe(true);
    expect(readProblem({ status: 504, contentType: null, body: "", retryAfter: null }, NOW).retryable).toBe(true);
    expect(readProblem(problemJson(502), NOW).retryable).toBe(false);
  });

  test("the delay honours Retry-After even beyond our own cap (MUST NOT retry before it elapses)", () => {
    const p = readProblem(problemJson(429, {}, "600"), NOW);
    expect(nextDelay(0, { baseMs: 1000, capMs: 60_000 }, { retryAfterMs: p.retryAfterMs }, () => 0)).toBe(600_000);
  });
});

describe("problem+json: branch on type", () => {
  test("the Margo types, in the fragment form and the registry's path forms", () => {
    expect(problemKind(`${NS}#not-authorized`)).toBe("not-authorized");
    expect(problemKind(`${NS}/#deployment-not-found`)).toBe("deployment-not-found");
    expect(problemKind(`${NS}/invalid-bundle`)).toBe("invalid-bundle");
    expect(problemKind(`${NS}#no-such-type`)).toBe("other");
    expect(problemKind("https://vendor.example.com/problems/not-authorized")).toBe("other");
    expect(problemKind("about:blank")).toBe("other");
  });

  test("not-authorized is an identity problem whatever the status; 400/422 and their types are content problems", () => {
    const retired = readProblem(
      problemJson(403, { type: `${NS}#not-authorized`, title: "Client Relationship Retired", detail: "The WFM Client relationship has been retired by local policy." }),
      NOW,
    );
    expect(isIdentityProblem(retired)).toBe(true);
    expect(retired.summary).toContain("Client Relationship Retired");
    expect(retired.summary).toContain("#not-authorized");
    expect(isIdentityProblem(readProblem(problemJson(401), NOW))).toBe(true);
    expect(isContentProblem(readProblem(problemJson(422, { type: `${NS}#semantic-error`, errors: [{ field: "properties.supportedRuntimes", message: "must contain at least one valid runtime" }] }), NOW))).toBe(true);
    expect(isContentProblem(readProblem(problemJson(400), NOW))).toBe(true);
    expect(isContentProblem(readProblem(problemJson(404, { type: `${NS}#deployment-not-found` }), NOW))).toBe(false);
  });

  test("field errors are part of the summary", () => {
    const p = readProblem(problemJson(422, { type: `${NS}#semantic-error`, errors: [{ field: "properties.cpus", message: "must not be empty" }] }), NOW);
    expect(p.errors).toEqual([{ field: "properties.cpus", message: "must not be empty" }]);
    expect(p.summary).toContain("properties.cpus: must not be empty");
  });

  test("the examples of problem-types.md are valid rc.3 ProblemDetails and read as their kinds", () => {
    const examples = [
      { type: `${NS}#invalid-request`, title: "Invalid Request", status: 400, detail: "Malformed request body.", instance: "/api/v1/capabilities/device-1" },
      { type: `${NS}#server-cannot-generate-response`, title: "Server Cannot Generate Response", status: 406, instance: "/api/v1/deployments" },
      { type: "about:blank", title: "Too Many Requests", status: 429, retryable: true, backoffStrategy: "exponential" },
    ];
    for (const ex of examples) {
      expect(validateRc3("ProblemDetail", ex).valid).toBe(true);
      const p = readProblem({ status: ex.status, contentType: "application/problem+json", body: JSON.stringify(ex), retryAfter: null }, NOW);
      expect(p.format).toBe("problem");
      expect(p.type).toBe(ex.type);
    }
  });
});

describe("older WFMs' error bodies are tolerated", () => {
  test('{"error": …} (rc.2 markdown), {"Error": …} (the Margo reference WFM), plain text, nothing', () => {
    const legacy = readProblem({ status: 403, contentType: "application/json", body: '{"error":"Client rejected"}', retryAfter: null }, NOW);
    expect([legacy.format, legacy.detail, legacy.retryable]).toEqual(["legacy", "Client rejected", false]);
    const symphony = readProblem({ status: 500, contentType: "application/json; charset=utf-8", body: '{"Error":"manifest store unavailable"}', retryAfter: null }, NOW);
    expect([symphony.format, symphony.detail, symphony.retryable]).toEqual(["legacy", "manifest store unavailable", true]);
    const text = readProblem({ status: 503, contentType: "text/plain", body: "down for maintenance\n", retryAfter: "30" }, NOW);
    expect([text.format, text.detail, text.retryAfterMs]).toEqual(["text", "down for maintenance", 30_000]);
    const none = readProblem({ status: 404, contentType: null, body: "", retryAfter: null }, NOW);
    expect([none.format, none.type, none.kind, none.summary]).toEqual(["none", "about:blank", "other", "404"]);
    // Malformed JSON under a JSON type is read as text, never thrown.
    expect(readProblem({ status: 400, contentType: "application/problem+json", body: "{nope", retryAfter: null }, NOW).format).toBe("text");
  });

  test("the journal's hint reader is this module (one implementation)", () => {
    expect(parseProblem("application/json", '{"Error":"busy","retryAfterSeconds":4}')).toEqual({ retryAfterMs: 4000, detail: "busy" });
  });
});
