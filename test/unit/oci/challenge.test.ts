import { expect, test } from "bun:test";
import { parseChallenge } from "../../../src/oci/challenge.ts";

test("a Bearer challenge as distribution sends it", () => {
  expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/app:pull"')).toEqual({
    scheme: "bearer",
    params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:org/app:pull" },
  });
});

test("Basic, unquoted values, escapes, scopes with spaces, and a second challenge ignored", () => {
  expect(parseChallenge('Basic realm="margo-test"')).toEqual({ scheme: "basic", params: { realm: "margo-test" } });
  expect(parseChallenge("Bearer realm=https://a/t, service=s")?.params).toEqual({ realm: "https://a/t", service: "s" });
  expect(parseChallenge('Bearer realm="a\\"b"')?.params.realm).toBe('a"b');
  expect(parseChallenge('Bearer realm="r",scope="repository:a:pull repository:b:pull"')?.params.scope).toBe("repository:a:pull repository:b:pull");
  expect(parseChallenge('Bearer realm="r", Basic realm="x"')?.params).toEqual({ realm: "r" });
});

test("unknown schemes and empty headers give nothing", () => {
  expect(parseChallenge(null)).toBeUndefined();
  expect(parseChallenge("Negotiate abc")).toBeUndefined();
  expect(parseChallenge("")).toBeUndefined();
});
