import { describe, expect, test } from "bun:test";
import { AgentError } from "../../src/errors/index.ts";
import { assertNewerVersion, parseManifest } from "../../src/protocol/manifest.ts";
import { assertValid } from "../support/openapi.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const digest = `sha256:${"a".repeat(64)}`;
const dep = (id: string) => ({ deploymentId: id, digest, sizeBytes: 10, url: `/api/v1/clients/c/deployments/${id}/${digest}` });
const bundle = { mediaType: "application/vnd.margo.bundle.v1+tar+gzip", digest, sizeBytes: 100, url: `/api/v1/clients/c/bundles/${digest}` };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AgentError ? e.code : "not-an-agent-error";
  }
  return undefined;
}

describe("parseManifest", () => {
  test("an empty manifest has bundle null and is valid against the OpenAPI schema", () => {
    const text = JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [] });
    expect(parseManifest(enc(text)).deployments).toEqual([]);
    assertValid("UnsignedAppStateManifest", JSON.parse(text));
  });

  test("bundle must be null exactly when there are no deployments", () => {
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle, deployments: [] }))))).toBe("MANIFEST_INVALID");
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [dep("a")] }))))).toBe("MANIFEST_INVALID");
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, deployments: [] }))))).toBe("MANIFEST_INVALID");
  });

  test("2^64-1 is parsed exactly; 2^64, 0, negatives and fractions are refused", () => {
    const max = parseManifest(enc(`{"manifestVersion":18446744073709551615,"bundle":null,"deployments":[]}`));
    expect(max.manifestVersion).toBe(18446744073709551615n);
    const near = parseManifest(enc(`{"manifestVersion":9007199254740993,"bundle":null,"deployments":[]}`));
    expect(near.manifestVersion).toBe(9007199254740993n); // 2^53+1: a double would round it
    for (const v of ["18446744073709551616", "0", "-1", "1.5", '"7"']) {
      expect(codeOf(() => parseManifest(enc(`{"manifestVersion":${v},"bundle":null,"deployments":[]}`)))).toBe("MANIFEST_INVALID");
    }
  });

  test("manifestVersion in any syntax but an unsigned decimal integer literal is refused, not rounded", () => {
    // 9007199254740993.0 is 2^53+1 written as a float: a double reads it as 2^53.
    // +1 and 0x10 are not even JSON; the rest are JSON numbers that are not integer literals, or negative.
    for (const v of ["9007199254740993.0", "1e3", "1E3", "1.0", "-0", "+1", "0x10", "1e0", "18446744073709551615.0", "-1"]) {
      const text = `{"manifestVersion":${v},"bundle":null,"deployments":[]}`;
      let message = "";
      try {
        parseManifest(enc(text));
      } catch (e) {
        expect((e as AgentError).code).toBe("MANIFEST_INVALID");
        message = (e as Error).message;
      }
      expect({ v, refused: message !== "" }).toEqual({ v, refused: true });
      expect(message).toMatch(/manifestVersion|not valid JSON/);
    }
    expect(() => parseManifest(enc(`{"manifestVersion":1e3,"bundle":null,"deployments":[]}`))).toThrow("unsigned decimal integer literal");
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 2, bundle, deployments: [dep("a")] }).replace('"sizeBytes":10', '"sizeBytes":1e1'))))).toBe("MANIFEST_INVALID");
  });

  test("__proto__, constructor and prototype keys are refused wherever they appear", () => {
    const ok = { manifestVersion: 3, bundle, deployments: [dep("a")] };
    for (const key of ["__proto__", "constructor", "prototype"]) {
      // JSON.parse makes each an own key: exactly what a hostile WFM sends.
      const top = JSON.stringify(ok).replace("{", `{"${key}":{"deployments":[]},`);
      const inBundle = JSON.stringify(ok).replace('"bundle":{', `"bundle":{"${key}":1,`);
      const inDeployment = JSON.stringify(ok).replace('"deployments":[{', `"deployments":[{"${key}":{"url":"http://evil.example/"},`);
      for (const text of [top, inBundle, inDeployment]) {
        expect(JSON.parse(text)).toBeDefined();
        try {
          parseManifest(enc(text));
          throw new Error(`accepted: ${text}`);
        } catch (e) {
          expect((e as AgentError).code).toBe("MANIFEST_INVALID");
          expect((e as Error).message).toContain(`"${key}"`);
        }
      }
    }
  });

  test("deployment ids must be safe path segments", () => {
    for (const id of [".", "..", "../x", "a/b", "-rf", "~root", "a b", "", "x".repeat(201), "a\\b"]) {
      expect({ id, code: codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle, deployments: [dep(id)] })))) }).toEqual({ id, code: "MANIFEST_INVALID" });
    }
    for (const id of ["a3e2f5dc-912e-494f-8395-52cf3769bc06", "dep-web.v2", "app_1", "A", "x".repeat(200), "1..2"]) {
      expect(parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle, deployments: [dep(id)] }))).deployments[0]!.deploymentId).toBe(id);
    }
  });

  test("errors name the field", () => {
    try {
      parseManifest(enc(JSON.stringify({ manifestVersion: 2, bundle, deployments: [{ ...dep("a"), digest: "md5:abc" }] })));
      throw new Error("should fail");
    } catch (e) {
      expect((e as Error).message).toContain("deployments.0.digest");
    }
  });

  test("unknown fields are refused, x-…-extensions allowed", () => {
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [], surprise: 1 }))))).toBe("MANIFEST_INVALID");
    expect(parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle: null, deployments: [], "x-acme-extensions": {} }))).manifestVersion).toBe(1n);
  });

  test("duplicate deployment ids and malformed JSON are refused", () => {
    expect(codeOf(() => parseManifest(enc(JSON.stringify({ manifestVersion: 1, bundle, deployments: [dep("a"), dep("a")] }))))).toBe("MANIFEST_INVALID");
    expect(codeOf(() => parseManifest(enc("{not json")))).toBe("MANIFEST_INVALID");
    expect(codeOf(() => parseManifest(new Uint8Array([0xff, 0xfe])))).toBe("MANIFEST_INVALID");
  });
});

describe("assertNewerVersion", () => {
  test("equal or lower versions are refused as a possible rollback", () => {
    expect(codeOf(() => assertNewerVersion(5n, 5n))).toBe("MANIFEST_VERSION_NOT_NEWER");
    expect(codeOf(() => assertNewerVersion(4n, 5n))).toBe("MANIFEST_VERSION_NOT_NEWER");
    expect(codeOf(() => assertNewerVersion(18446744073709551615n, 18446744073709551614n))).toBeUndefined();
    expect(codeOf(() => assertNewerVersion(1n, null))).toBeUndefined();
  });
});
