import { describe, expect, test } from "bun:test";
import { decideAccess } from "../../../src/api/auth/access.ts";
import { isLoopbackAddress } from "../../../src/api/auth/loopback.ts";
import { bearerToken, tokenMatches } from "../../../src/api/auth/token.ts";
import { assertSafeBinding, parseListen } from "../../../src/api/listen.ts";
import { AgentError } from "../../../src/errors/index.ts";

const TOKEN = "0123456789abcdef-token";

describe("loopback addresses", () => {
  test.each(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "[::1]"])("%s is loopback", (a) => expect(isLoopbackAddress(a)).toBe(true));
  test.each(["10.0.0.1", "192.168.1.2", "::ffff:10.0.0.1", "fe80::1", "0.0.0.0", "1270.0.0.1"])("%s is not", (a) => expect(isLoopbackAddress(a)).toBe(false));
});

describe("bearer tokens", () => {
  test("parses the header and compares in constant time", () => {
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`bearer  ${TOKEN} `)).toBe(TOKEN);
    expect(bearerToken(`Basic ${TOKEN}`)).toBeUndefined();
    expect(bearerToken(null)).toBeUndefined();
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches("", TOKEN)).toBe(false);
  });
});

describe("access rules", () => {
  const read = (peerAddress: string | null, authorization?: string) => ({ peerAddress, authorization, guarded: false });
  const post = (peerAddress: string | null, authorization?: string) => ({ peerAddress, authorization, guarded: true });
  test("no token configured: loopback and socket reads and syncs are allowed; a remote sync is forbidden", () => {
    expect(decideAccess(read("127.0.0.1"), null).ok).toBe(true);
    expect(decideAccess(read(null), null).ok).toBe(true);
    expect(decideAccess(post("::1"), null).ok).toBe(true);
    expect(decideAccess(post("10.1.2.3"), null)).toMatchObject({ ok: false, status: 403, code: "API_FORBIDDEN" });
  });
  test("token configured: loopback reads need none, everything else needs the right one", () => {
    expect(decideAccess(read("127.0.0.1"), TOKEN).ok).toBe(true);
    expect(decideAccess(read("10.1.2.3"), TOKEN)).toMatchObject({ ok: false, status: 401, code: "API_UNAUTHORIZED" });
    expect(decideAccess(read("10.1.2.3", "Bearer wrong-token-0000000"), TOKEN)).toMatchObject({ ok: false, status: 401 });
    expect(decideAccess(read("10.1.2.3", `Bearer ${TOKEN}`), TOKEN).ok).toBe(true);
    expect(decideAccess(post("127.0.0.1"), TOKEN)).toMatchObject({ ok: false, status: 401 });
    expect(decideAccess(post(null), TOKEN)).toMatchObject({ ok: false, status: 401 });
    expect(decideAccess(post("127.0.0.1", `Bearer ${TOKEN}`), TOKEN).ok).toBe(true);
  });
});

describe("api.listen", () => {
  test("parses HOST:PORT, [v6]:PORT and unix:/path", () => {
    expect(parseListen("127.0.0.1:7480")).toEqual({ kind: "tcp", hostname: "127.0.0.1", port: 7480 });
    expect(parseListen("[::1]:0")).toEqual({ kind: "tcp", hostname: "::1", port: 0 });
    expect(parseListen("unix:/run/margo-agent/api.sock")).toEqual({ kind: "unix", path: "/run/margo-agent/api.sock" });
    expect(() => parseListen("unix:relative.sock")).toThrow(AgentError);
  });
  test("a non-loopback bind without a token is refused, naming api.listen and api.token", () => {
    for (const listen of ["0.0.0.0:7480", "192.168.1.10:7480", "[::]:7480", "device.local:7480"]) {
      let caught: unknown;
      try {
        assertSafeBinding(parseListen(listen), null);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AgentError);
      expect((caught as AgentError).code).toBe("CONFIG_INVALID");
      expect((caught as AgentError).message).toContain("api.listen");
      expect((caught as AgentError).message).toContain("api.token");
    }
    expect(() => assertSafeBinding(parseListen("0.0.0.0:7480"), TOKEN)).not.toThrow();
    expect(() => assertSafeBinding(parseListen("localhost:7480"), null)).not.toThrow();
    expect(() => assertSafeBinding(parseListen("unix:/tmp/x.sock"), null)).not.toThrow();
  });
});
