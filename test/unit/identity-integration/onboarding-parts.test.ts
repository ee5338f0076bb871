import { afterAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { certificatesFrom, clockSkewError, clockSkewSeconds, onboardingRequestBody, OnboardingResponseSchema } from "../../../src/onboarding/index.ts";
import { certificatePem, loadOrCreateIdentity } from "../../../src/identity/index.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

describe("onboarding response", () => {
  test("clientId, or the older client_id", () => {
    expect(v.parse(OnboardingResponseSchema, { clientId: "abc-1" })).toEqual({ clientId: "abc-1" });
    expect(v.parse(OnboardingResponseSchema, { client_id: "abc_2" })).toEqual({ clientId: "abc_2" });
    expect(v.parse(OnboardingResponseSchema, { clientId: "a", extra: 1 })).toEqual({ clientId: "a" });
  });

  test("a clientId that is missing, empty or not URL-safe is refused", () => {
    for (const bad of [{}, { clientId: "" }, { clientId: "a/b" }, { clientId: "a b" }, { clientId: "../x" }, { clientId: 7 }, { client_id: "é" }]) {
      expect(v.safeParse(OnboardingResponseSchema, bad).success).toBe(false);
    }
  });

  test("the request body has the fields of docs/protocol.md §1.4", () => {
    expect(JSON.parse(onboardingRequestBody("MIIB"))).toEqual({ apiVersion: "onboarding.margo.org/v1alpha1", kind: "OnboardingRequest", certificate: "MIIB" });
  });
});

describe("clock skew", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  test("measured from the Date header, in seconds (server minus device)", () => {
    expect(clockSkewSeconds("Sun, 01 Mar 2026 12:10:00 GMT", now)).toBe(600);
    expect(clockSkewSeconds("Sun, 01 Mar 2026 11:59:30 GMT", now)).toBe(-30);
    expect(clockSkewSeconds("garbage", now)).toBeUndefined();
    expect(clockSkewSeconds(null, now)).toBeUndefined();
  });

  test("only beyond 60 s is it called a clock problem", () => {
    expect(clockSkewError("POST x", 401, "Sun, 01 Mar 2026 12:01:00 GMT", now)).toBeUndefined();
    const e = clockSkewError("POST x", 401, "Sun, 01 Mar 2026 11:50:00 GMT", now)!;
    expect(e.code).toBe("CLOCK_SKEW");
    expect(e.details.skewSeconds).toBe(-600);
    expect(e.message).toContain("600 s ahead of the WFM's");
  });
});

describe("root CA forms", () => {
  test("PEM, base64 PEM and base64 DER give the same certificate", async () => {
    const id = await loadOrCreateIdentity({ dir: tempDir(), deviceId: "ca-test" });
    const der = certificatesFrom(id.certificatePem)[0]!;
    expect(certificatePem(certificatesFrom(Buffer.from(id.certificatePem).toString("base64"))[0]!)).toBe(id.certificatePem);
    expect(certificatePem(certificatesFrom(id.certificateDerBase64)[0]!)).toBe(id.certificatePem);
    expect(der[0]).toBe(0x30);
    expect(certificatesFrom(id.certificatePem + id.certificatePem)).toHaveLength(2);
    expect(() => certificatesFrom("bm90IGEgY2VydA==")).toThrow();
  });
});
