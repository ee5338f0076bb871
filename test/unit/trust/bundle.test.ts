import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../../../src/errors/index.ts";
import { DevCa, parseTrustBundle, TrustBundleStore } from "../../../src/trust/index.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const ca1 = DevCa.create({ trustDomain: "factory.example" });
const ca2 = DevCa.create({ trustDomain: "factory.example" });
const b64 = (ca: DevCa) => Buffer.from(ca.anchor.raw).toString("base64");
const jwtKey = { kty: "EC", crv: "P-256", x: "AAAA", y: "BBBB", use: "jwt-svid", kid: "k1" };

function refusedWith(code: string, fn: () => unknown): AgentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe(code as AgentError["code"]);
    return err as AgentError;
  }
  throw new Error(`expected ${code}`);
}

describe("parsing trust bundles", () => {
  test("PEM anchors (wfm.caFile), duplicates dropped", () => {
    const bundle = parseTrustBundle(`# our roots\n${ca1.anchorPem}${ca2.anchorPem}${ca1.anchorPem}`, "/etc/margo/ca.pem");
    expect(bundle.format).toBe("pem");
    expect(bundle.anchors.map((a) => a.fingerprint256)).toEqual([ca1.anchor.fingerprint256, ca2.anchor.fingerprint256]);
    expect(bundle.sequence).toBeUndefined();
    const cut = `${ca1.anchorPem}${ca2.anchorPem}`.slice(0, -30);
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(cut, "ca.pem")).message).toBe("ca.pem: ends inside a PEM block (still being written?)");
  });

  test("a SPIFFE bundle: x509-svid entries only, jwt-svid and unknown uses ignored", () => {
    const text = JSON.stringify({
      spiffe_sequence: 12,
      spiffe_refresh_hint: 86400,
      keys: [jwtKey, { kty: "EC", use: "x509-svid", x5c: [b64(ca1)] }, { kty: "EC", use: "something-new", x5c: [b64(ca2)] }],
      unknown_member: true,
    });
    const bundle = parseTrustBundle(text, "https://mis/b");
    expect(bundle.anchors.map((a) => a.fingerprint256)).toEqual([ca1.anchor.fingerprint256]);
    expect(bundle).toMatchObject({ format: "spiffe", sequence: 12n, refreshHintSeconds: 86400 });
  });

  test("a bundle with no X.509 anchor is refused (fail closed): empty keys, or jwt-svid only", () => {
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle('{"keys": []}', "https://mis/b")).message).toBe(
      "https://mis/b: holds no X.509 trust anchor; refusing to validate SVIDs against an empty set",
    );
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(JSON.stringify({ spiffe_sequence: 2, keys: [jwtKey] }), "b"));
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle("no certificates here", "f"));
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "f"));
  });

  test("x5c: missing or empty means the entry is ignored; beyond the first, values are ignored", () => {
    const bundle = parseTrustBundle(
      JSON.stringify({ keys: [{ kty: "EC", use: "x509-svid" }, { kty: "EC", use: "x509-svid", x5c: [] }, { kty: "EC", use: "x509-svid", x5c: [b64(ca2), b64(ca1)] }] }),
      "b",
    );
    expect(bundle.anchors.map((a) => a.fingerprint256)).toEqual([ca2.anchor.fingerprint256]);
    expect(bundle.notes).toEqual(["keys[0] (x509-svid) has no x5c; ignored", "keys[1] (x509-svid) has no x5c; ignored"]);
  });

  test("a malformed x509-svid entry refuses the whole bundle, naming the entry", () => {
    const bad = (x5c: unknown) => JSON.stringify({ keys: [{ kty: "EC", use: "x509-svid", x5c: [b64(ca1)] }, { kty: "EC", use: "x509-svid", x5c }] });
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(bad(["%%%"]), "b")).message).toBe("b: keys[1].x5c[0] is not base64");
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(bad(["AAAA"]), "b")).message).toMatch(/keys\[1\]\.x5c\[0\] is not an X\.509 certificate/);
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(bad([42]), "b")).message).toMatch(/not base64/);
  });

  test("an anchor that is not a CA certificate is refused", () => {
    const leaf = ca1.issueWfmSvid("w").leaf;
    const text = JSON.stringify({ keys: [{ kty: "EC", use: "x509-svid", x5c: [Buffer.from(leaf.raw).toString("base64")] }] });
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(text, "b")).message).toMatch(/is not a CA certificate/);
  });

  test("the envelope is validated: keys required, sequence a non-negative integer (exact beyond 2^53)", () => {
    expect(refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle("{}", "b")).message).toMatch(/is not a SPIFFE bundle: keys:/);
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(JSON.stringify({ spiffe_sequence: -1, keys: [] }), "b"));
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle(JSON.stringify({ spiffe_sequence: "7", keys: [] }), "b"));
    refusedWith("TRUST_BUNDLE_INVALID", () => parseTrustBundle("{not json", "b"));
    const big = parseTrustBundle(`{"spiffe_sequence": 18446744073709551615, "keys": [{"kty":"EC","use":"x509-svid","x5c":["${b64(ca1)}"]}]}`, "b");
    expect(big.sequence).toBe(18446744073709551615n);
  });

  test("a malformed refresh hint is ignored with a note, not a refusal of good anchors", () => {
    const bundle = parseTrustBundle(JSON.stringify({ spiffe_refresh_hint: "soon", keys: [{ kty: "EC", use: "x509-svid", x5c: [b64(ca1)] }] }), "b");
    expect(bundle.refreshHintSeconds).toBeUndefined();
    expect(bundle.notes[0]).toMatch(/spiffe_refresh_hint .* is not a whole number of seconds; ignored/);
  });
});

describe("the bundle store", () => {
  const spiffe = (seq: number | undefined, ...cas: DevCa[]) =>
    parseTrustBundle(JSON.stringify({ ...(seq === undefined ? {} : { spiffe_sequence: seq }), keys: cas.map((c) => ({ kty: "EC", use: "x509-svid", x5c: [b64(c)] })) }), "test");

  test("accepts a first bundle, persists it atomically, and a new store loads it back", async () => {
    const dir = tempDir();
    const file = join(dir, "trust-bundle.json");
    const store = new TrustBundleStore(file, "factory.example");
    expect(store.current()).toBeUndefined();
    expect(await store.offer(spiffe(5, ca1), { source: "https://mis/b", etag: '"e1"' })).toBe("replaced");
    expect(store.version).toBe(1);
    expect(readdirSync(dir)).toEqual(["trust-bundle.json"]); // no temporary file left
    const again = new TrustBundleStore(file, "factory.example");
    expect(await again.load()).toEqual({ loaded: true });
    expect(again.current()).toMatchObject({ source: "https://mis/b", etag: '"e1"', trustDomain: "factory.example" });
    expect(again.current()!.bundle.sequence).toBe(5n);
    expect(again.current()!.bundle.anchors[0]!.fingerprint256).toBe(ca1.anchor.fingerprint256);
  });

  test("a newer bundle replaces the anchors, never merges them", async () => {
    const store = new TrustBundleStore(join(tempDir(), "b.json"), "factory.example");
    await store.offer(spiffe(1, ca1, ca2), { source: "s" });
    expect(await store.offer(spiffe(2, ca2), { source: "s" })).toBe("replaced");
    expect(store.current()!.bundle.anchors.map((a) => a.fingerprint256)).toEqual([ca2.anchor.fingerprint256]);
    expect(store.version).toBe(2);
  });

  test("a sequence regression is refused and the held bundle kept (in memory and on disk)", async () => {
    const file = join(tempDir(), "b.json");
    const store = new TrustBundleStore(file, "factory.example");
    await store.offer(spiffe(7, ca1), { source: "s" });
    const before = readFileSync(file, "utf8");
    const err = await store.offer(spiffe(6, ca2), { source: "https://mis/b" }).then(
      () => undefined,
      (e: unknown) => e as AgentError,
    );
    expect(err?.code).toBe("TRUST_BUNDLE_REGRESSION");
    expect(err?.message).toBe("https://mis/b: spiffe_sequence 6 is lower than the held bundle's 7 (possible rollback); refused, keeping the held bundle");
    expect(store.current()!.bundle.anchors[0]!.fingerprint256).toBe(ca1.anchor.fingerprint256);
    expect(store.version).toBe(1);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  test("dropping the sequence, or keeping it with other anchors, is refused too", async () => {
    const store = new TrustBundleStore(join(tempDir(), "b.json"), "factory.example");
    await store.offer(spiffe(7, ca1), { source: "s" });
    await expect(store.offer(spiffe(undefined, ca2), { source: "s" })).rejects.toMatchObject({ code: "TRUST_BUNDLE_REGRESSION" });
    await expect(store.offer(spiffe(7, ca2), { source: "s" })).rejects.toMatchObject({
      code: "TRUST_BUNDLE_INVALID",
      message: expect.stringContaining("spiffe_sequence 7 is unchanged but the anchors differ"),
    });
    expect(store.current()!.bundle.anchors[0]!.fingerprint256).toBe(ca1.anchor.fingerprint256);
  });

  test("the same bundle again is 'unchanged' and writes nothing (unless its ETag moved)", async () => {
    const file = join(tempDir(), "b.json");
    const store = new TrustBundleStore(file, "factory.example");
    await store.offer(spiffe(3, ca1), { source: "s", etag: "a" });
    const mtime = Bun.file(file).lastModified;
    const text = readFileSync(file, "utf8");
    expect(await store.offer(spiffe(3, ca1), { source: "s", etag: "a" })).toBe("unchanged");
    expect(readFileSync(file, "utf8")).toBe(text);
    expect(Bun.file(file).lastModified).toBe(mtime);
    expect(await store.offer(spiffe(3, ca1), { source: "s", etag: "b" })).toBe("unchanged");
    expect(store.current()!.etag).toBe("b");
    expect(store.version).toBe(1);
  });

  test("bundles without a sequence (PEM) replace each other", async () => {
    const store = new TrustBundleStore(join(tempDir(), "b.json"), "factory.example");
    await store.offer(parseTrustBundle(ca1.anchorPem, "f"), { source: "f" });
    expect(await store.offer(parseTrustBundle(ca2.anchorPem, "f"), { source: "f" })).toBe("replaced");
    expect(await store.offer(spiffe(1, ca1), { source: "s" })).toBe("replaced");
  });

  test("a corrupt cache or one for another trust domain is ignored with a reason, never a crash", async () => {
    const dir = tempDir();
    const file = join(dir, "b.json");
    expect(await new TrustBundleStore(file, "factory.example").load()).toEqual({ loaded: false });
    writeFileSync(file, "{ half");
    const corrupt = await new TrustBundleStore(file, "factory.example").load();
    expect(corrupt.loaded).toBe(false);
    expect(corrupt.problem).toMatch(/is not a usable cached bundle/);
    const store = new TrustBundleStore(file, "other.example");
    await store.offer(spiffe(1, ca1), { source: "s" });
    const wrong = await new TrustBundleStore(file, "factory.example").load();
    expect(wrong).toEqual({ loaded: false, problem: `${file} holds a bundle for trust domain other.example, not factory.example; ignored` });
    expect(existsSync(file)).toBe(true);
  });
});
