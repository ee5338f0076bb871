/**
 * Fault switches, set at start and at run time, as a real client sees them.
 * `down` must look like a WFM that went away: no HTTP response at all.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { parseFaultFlags, type StartedDevWfm } from "../../../src/devwfm/index.ts";
import { deploymentYaml, getManifest, postStatus, startIn, statusBody, tempDir, writeFile } from "./helpers.ts";

let dir: string;
let cleanup: () => void;
let wfm: StartedDevWfm | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  writeFile(dir, "a.yaml", deploymentYaml("d1"));
});
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
  cleanup();
});

const report = () => postStatus(wfm!, "dev-1", "d1", statusBody("d1", "installed"));

describe("faults set at start (the --fault flag syntax)", () => {
  test("status=503:5 answers 503 with Retry-After and retry hints, and records nothing", async () => {
    wfm = await startIn(dir, { faults: parseFaultFlags(["status=503:5"]) });
    const res = await report();
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 503, retryable: true, retryAfterSeconds: 5 });
    expect(wfm.reports()).toEqual([]);
    // Other routes are not affected.
    expect((await getManifest(wfm)).status).toBe(200);
  });

  test("status=422 rejects every report as a strict WFM would", async () => {
    wfm = await startIn(dir, { faults: parseFaultFlags(["status=422"]) });
    const res = await report();
    expect(res.status).toBe(422);
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toMatchObject({ status: 422, retryable: false });
  });

  test("status=down drops the connection: the client gets a connection error, no response", async () => {
    wfm = await startIn(dir, { faults: parseFaultFlags(["status=down"]) });
    let error: unknown;
    try {
      const res = await report();
      await res.text();
    } catch (err) {
      error = err;
    }
    expect(error).toBeDefined();
    expect((error as { code?: string }).code).toBe("ECONNRESET");
    expect(wfm.reports()).toEqual([]);
    // The server itself is fine.
    expect((await getManifest(wfm)).status).toBe(200);
  });

  test("manifest=503 makes the desired state unavailable", async () => {
    wfm = await startIn(dir, { faults: parseFaultFlags(["manifest=503"]) });
    expect((await getManifest(wfm)).status).toBe(503);
    expect((await report()).status).toBe(200);
  });

  test("bad flags are refused with a message", () => {
    expect(() => parseFaultFlags(["status"])).toThrow(/ROUTE=MODE/);
    expect(() => parseFaultFlags(["bundle=503"])).toThrow(/status, manifest/);
    expect(() => parseFaultFlags(["status=200"])).toThrow(/400 to 599/);
    expect(() => parseFaultFlags(["status=503:x"])).toThrow(/CODE:RETRY_AFTER_SECONDS/);
    expect(parseFaultFlags(["status=503", "status=ok"])).toEqual({ status: "ok" });
  });
});

describe("faults changed at run time", () => {
  test("PUT /api/dev/faults switches routes on and off; GET shows them", async () => {
    wfm = await startIn(dir);
    const faultsUrl = `${wfm.url}/api/dev/faults`;
    expect(await (await fetch(faultsUrl)).json()).toEqual({ status: "ok", manifest: "ok" });

    let res = await fetch(faultsUrl, { method: "PUT", body: JSON.stringify({ status: { code: 503, retryAfter: 7 } }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: { code: 503, retryAfter: 7 }, manifest: "ok" });
    const refused = await report();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("7");

    res = await fetch(faultsUrl, { method: "PUT", body: JSON.stringify({ manifest: "down" }) });
    expect(await res.json()).toEqual({ status: { code: 503, retryAfter: 7 }, manifest: "down" });
    await expect(getManifest(wfm).then((r) => r.text())).rejects.toMatchObject({ code: "ECONNRESET" });

    res = await fetch(faultsUrl, { method: "PUT", body: JSON.stringify({ status: "ok", manifest: null }) });
    expect(await res.json()).toEqual({ status: "ok", manifest: "ok" });
    expect((await report()).status).toBe(200);
    expect((await getManifest(wfm)).status).toBe(200);

    for (const bad of ["nope", "[]", '{"bundle":"down"}', '{"status":{"code":200}}', '{"status":{"code":503,"retryAfter":-1}}', '{"status":true}']) {
      expect((await fetch(faultsUrl, { method: "PUT", body: bad })).status).toBe(400);
    }
    expect(await (await fetch(faultsUrl)).json()).toEqual({ status: "ok", manifest: "ok" });
  });

  test("setFaults from code does the same", async () => {
    wfm = await startIn(dir);
    wfm.setFaults({ status: { code: 422 } });
    expect((await report()).status).toBe(422);
    wfm.setFaults({});
    expect((await report()).status).toBe(200);
  });
});
