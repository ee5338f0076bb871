import { describe, expect, test } from "bun:test";
import { gzipSync } from "node:zlib";
import { gunzipBounded, maxTarBytes, readTarGz, writeTar, writeTarGz } from "../../../src/archive/index.ts";
import { agentErrorOf, decode, expectCode, roomy, text, zeroBomb } from "./build.ts";

describe("decompression is bounded", () => {
  test(
    "a 4 GiB gzip bomb is refused without inflating it",
    () => {
      const bomb = zeroBomb(4);
      expect(bomb.length).toBeLessThan(5 * 2 ** 20); // ~4 MiB on the wire
      const limits = { maxEntries: 10, maxEntryBytes: 1 << 20, maxTotalBytes: 2 << 20 };
      const rssBefore = process.memoryUsage().rss;
      // Four GiB of zeros is, as tar, an empty archive: only the bound on inflating stops it.
      const err = expectCode(agentErrorOf(() => readTarGz(bomb, limits, { what: "bundle sha256:b0mb" })), "BUNDLE_TOO_LARGE");
      const grewBy = process.memoryUsage().rss - rssBefore;
      expect(err.message).toBe(`bundle sha256:b0mb: decompresses to more than ${maxTarBytes(limits)} bytes`);
      // The bound is ~3.1 MiB; allow generous slack for the allocator, far below 4 GiB.
      expect(grewBy).toBeLessThan(256 * 2 ** 20);
    },
    60_000,
  );

  test("the bound is the limits plus tar framing, so archives within the limits always fit", () => {
    const limits = { maxEntries: 5, maxEntryBytes: 1000, maxTotalBytes: 5000 };
    // Worst case for framing: each file needs a pax header and padding.
    const files = Array.from({ length: 5 }, (_, i) => ({ path: `${"p".repeat(150)}${i}`, data: new Uint8Array(1000) }));
    expect(readTarGz(writeTarGz(files), limits).length).toBe(5);
    expect(maxTarBytes(limits)).toBeGreaterThan(5000);
  });

  test("gunzipBounded: within, at and past the bound", () => {
    const gz = gzipSync(new Uint8Array(1000));
    expect(gunzipBounded(gz, 1000)).toMatchObject({ ok: true });
    expect(gunzipBounded(gz, 999)).toEqual({ ok: false, tooLarge: true, reason: "decompresses to more than 999 bytes" });
  });
});

describe("gzip framing", () => {
  test("concatenated gzip members are read as one stream, as gzip -d does", () => {
    const tar = writeTar([{ path: "split.yaml", data: text("across members") }]);
    const joined = new Uint8Array([...gzipSync(tar.subarray(0, 700)), ...gzipSync(tar.subarray(700))]);
    const entries = readTarGz(joined, roomy);
    expect(entries.map((e) => [e.path, decode(e.data)])).toEqual([["split.yaml", "across members"]]);
  });

  test("the bound covers all members together", () => {
    const member = gzipSync(new Uint8Array(1 << 20));
    const joined = new Uint8Array([...member, ...member, ...member, ...member]);
    const limits = { maxEntries: 1, maxEntryBytes: 1 << 20, maxTotalBytes: 1 << 20 };
    expectCode(agentErrorOf(() => readTarGz(joined, limits)), "BUNDLE_TOO_LARGE");
  });

  test("bytes after the last member that are not gzip are refused", () => {
    const gz = writeTarGz([{ path: "a", data: text("a") }]);
    const err = agentErrorOf(() => readTarGz(new Uint8Array([...gz, 1, 2, 3, 4]), roomy));
    expectCode(err, "BUNDLE_INVALID");
  });
});
