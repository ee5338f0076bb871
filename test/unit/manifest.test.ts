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
