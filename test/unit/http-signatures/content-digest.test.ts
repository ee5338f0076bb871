import { describe, expect, test } from "bun:test";
import { bytesToBase64, contentDigest, verifyContentDigest } from "../../../src/http-signatures/index.ts";

const body = new TextEncoder().encode('{"hello": "world"}');
const SHA256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
const SHA512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

describe("Content-Digest (RFC 9530)", () => {
  test("contentDigest gives sha-256 over the exact bytes, empty body included", async () => {
    expect(await contentDigest(body)).toBe(SHA256);
    const empty = bytesToBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array())));
    expect(await contentDigest(new Uint8Array())).toBe(`sha-256=:${empty}:`);
  });

  test("verdicts", async () => {
    expect(await verifyContentDigest(SHA256, body)).toBe("ok");
    expect(await verifyContentDigest(SHA512, body)).toBe("ok");
    expect(await verifyContentDigest(`${SHA256}, ${SHA512}`, body)).toBe("ok");
    expect(await verifyContentDigest(null, body)).toBe("missing");
    expect(await verifyContentDigest("  ", body)).toBe("missing");
    expect(await verifyContentDigest(SHA256, new TextEncoder().encode('{"hello": "World"}'))).toBe("mismatch");
    expect(await verifyContentDigest("md5=:X48E9qOokqqrvdts8nOJRA==:, unixsum=1", body)).toBe("unsupported");
    expect(await verifyContentDigest("sha-256=not-bytes", body)).toBe("mismatch");
    expect(await verifyContentDigest("sha-256=:::", body)).toBe("mismatch");
  });

  test("one wrong digest among right ones is a mismatch", async () => {
    const wrong512 = SHA512.replace("WZD", "AAA");
    expect(await verifyContentDigest(`${SHA256}, ${wrong512}`, body)).toBe("mismatch");
  });

  test("the Content-Digest of an unsupported-only field next to a valid one is ok", async () => {
    expect(await verifyContentDigest(`md5=:AAAA:, ${SHA256}`, body)).toBe("ok");
  });
});
