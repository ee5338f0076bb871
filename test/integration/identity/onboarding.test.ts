import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { ensureOnboarded, onboard } from "../../../src/onboarding/index.ts";
import { captureLog, removeTempDirs } from "../../unit/identity-integration/helpers.ts";
import { startFakeWfm, type FakeWfm } from "./fake-wfm.ts";
import { device, openStore } from "./setup.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

let wfm: FakeWfm | undefined;
afterEach(async () => {
  await wfm?.stop();
  wfm = undefined;
});
afterAll(removeTempDirs);

const failure = (p: Promise<unknown>) => agentErrorOf(p);

const FAST = { baseMs: 1, capMs: 5 };
const onboardingRequests = (w: FakeWfm) => w.requests.filter((r) => r.path === "/api/v1/onboarding");

describe("onboarding against a real HTTP WFM (docs/protocol.md §1.4)", () => {
  test("pending (403) twice, then approved: the clientId is persisted and later starts do not onboard again", async () => {
    wfm = startFakeWfm({ pendingFor: 2 });
    const d = await device(wfm.url);
    const { log, lines } = captureLog();
    const clientId = await ensureOnboarded({ client: d.client, identity: d.identity, store: d.store, log, backoff: FAST });
    expect(clientId).toBe("client-1");
    expect(wfm.rejected).toEqual([]);
    const sent = onboardingRequests(wfm);
    expect(sent).toHaveLength(3);
    // Before onboarding the keyid is the certificate's thumbprint, and the body carries the certificate.
    expect(sent.every((r) => r.keyId === d.identity.thumbprint)).toBe(true);
    expect(sent[0]!.body).toEqual({ apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: d.identity.certificateDerBase64 });
    const pending = lines().filter((l) => l.code === "ONBOARDING_PENDING");
    expect(pending).toHaveLength(2);
    expect(String(pending[0]!.msg)).toContain("waiting for approval");

    d.store.close();
    const reopened = openStore(d.dir);
    expect(reopened.getMeta("clientId")).toBe("client-1");
    expect(await ensureOnboarded({ client: d.client, identity: d.identity, store: reopened, log, backoff: FAST })).toBe("client-1");
    expect(onboardingRequests(wfm)).toHaveLength(3);
    reopened.close();
  });

  test("403 from a single attempt is ONBOARDING_PENDING", async () => {
    wfm = startFakeWfm({ pendingFor: 1 });
    const d = await device(wfm.url);
    const e = await failure(onboard({ client: d.client, identity: d.identity, log: captureLog().log }));
    expect(e.code).toBe("ONBOARDING_PENDING");
    expect(e.message).toContain("Client rejected");
    d.store.close();
  });

  test("the older snake_case client_id is accepted", async () => {
    wfm = startFakeWfm({ snakeCase: true });
    const d = await device(wfm.url);
    expect(await onboard({ client: d.client, identity: d.identity, log: captureLog().log })).toEqual({ clientId: "client-1" });
    d.store.close();
  });

  test("400 is reported as a certificate problem, with the WFM's message", async () => {
    wfm = startFakeWfm({ onboardingOverride: () => Response.json({ error: "Invalid certificate" }, { status: 400 }) });
    const d = await device(wfm.url);
    const e = await failure(onboard({ client: d.client, identity: d.identity, log: captureLog().log }));
    expect(e.code).toBe("IDENTITY_INVALID");
    expect(e.message).toContain("Invalid certificate");
    expect(e.message).toContain(d.identity.certFile);
    d.store.close();
  });

  test("401 with the WFM's Date ten minutes ahead is CLOCK_SKEW with the measured skew, and logged as such", async () => {
    const ahead = () => new Date(Date.now() + 600_000).toUTCString();
    wfm = startFakeWfm({ onboardingOverride: () => Response.json({ error: "signature expired" }, { status: 401, headers: { date: ahead() } }) });
    const d = await device(wfm.url);
    const e = await failure(onboard({ client: d.client, identity: d.identity, log: captureLog().log }));
    expect(e.code).toBe("CLOCK_SKEW");
    expect(Math.abs((e.details.skewSeconds as number) - 600)).toBeLessThanOrEqual(2);

    const { log, lines } = captureLog();
    const stop = new AbortController();
    await ensureOnboarded({
      client: d.client,
      identity: d.identity,
      store: d.store,
      log,
      backoff: FAST,
      signal: stop.signal,
      onAttemptFailed: () => stop.abort(new Error("enough")),
    }).catch(() => undefined);
    const logged = lines().find((l) => l.code === "CLOCK_SKEW");
    expect(logged).toBeDefined();
    expect(Math.abs((logged!.skewSeconds as number) - 600)).toBeLessThanOrEqual(2);
    expect(d.store.getMeta("clientId")).toBeUndefined();
    d.store.close();
  });

  test("401 with a sane Date is IDENTITY_REJECTED", async () => {
    wfm = startFakeWfm({ onboardingOverride: () => Response.json({ error: "bad signature" }, { status: 401 }) });
    const d = await device(wfm.url);
    const e = await failure(onboard({ client: d.client, identity: d.identity, log: captureLog().log }));
    expect(e.code).toBe("IDENTITY_REJECTED");
    expect(e.message).toContain("bad signature");
    d.store.close();
  });

  test("an unreachable WFM is WFM_UNREACHABLE", async () => {
    wfm = startFakeWfm();
    const url = wfm.url;
    await wfm.stop();
    wfm = undefined;
    const d = await device(url);
    expect((await failure(onboard({ client: d.client, identity: d.identity, log: captureLog().log }))).code).toBe("WFM_UNREACHABLE");
    d.store.close();
  });
});
