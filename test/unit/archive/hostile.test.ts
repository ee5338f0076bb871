import { describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { gzipDeterministic, paxRecords, readTarGz, writeTar, type RawTarEntry } from "../../../src/archive/index.ts";
import type { ErrorCode } from "../../../src/errors/codes.ts";
import { agentErrorOf, expectCode, roomy, text, tgz } from "./build.ts";

const ok = { path: "ok.yaml", data: text("fine") };

/** Reads `entries` (after a harmless first file) and expects `code` with `named` in the message. */
function rejects(entries: RawTarEntry[], code: ErrorCode, named: string, limits = roomy) {
  const err = expectCode(agentErrorOf(() => readTarGz(tgz([ok, ...entries]), limits)), code);
  expect(err.message).toContain(named);
  return err;
}

describe("readTarGz refuses unsafe entries (BUNDLE_UNSAFE, naming the entry)", () => {
  test.each([
    ["../evil", "'..'"],
    ["a/../../b", "'..'"],
    ["ok/..", "'..'"],
    ["/etc/passwd", "absolute"],
    ["..\\evil", "backslash"],
    ["C:/windows/evil", "drive-letter"],
  ])("path %p", (path, reason) => {
    const err = rejects([{ path, data: text("x") }], "BUNDLE_UNSAFE", JSON.stringify(path));
    expect(err.message).toContain(reason);
    expect(err.details.entry).toBe(path);
  });

  test("a directory entry that escapes", () => {
    rejects([{ path: "../outside/", type: "5" }], "BUNDLE_UNSAFE", '"../outside/"');
  });

  test.each([
    ["2", "symbolic link"],
    ["1", "hard link"],
  ])("link type %p", (type, words) => {
    const err = rejects([{ path: "innocent.yaml", type, linkname: "/etc/shadow" }], "BUNDLE_UNSAFE", '"innocent.yaml"');
    expect(err.message).toContain(words);
    expect(err.message).toContain('"/etc/shadow"');
  });

  test.each([
    ["3", "character device"],
    ["4", "block device"],
    ["6", "FIFO"],
    ["S", "unknown entry type 'S'"],
    ["V", "unknown entry type 'V'"],
  ])("entry type %p", (type, words) => {
    const err = rejects([{ path: "dev/thing", type }], "BUNDLE_UNSAFE", '"dev/thing"');
    expect(err.message).toContain(words);
  });

  test("a pax path that escapes is judged, not the harmless stand-in name", () => {
    rejects(
      [
        { path: "PaxHeaders/x", type: "x", data: paxRecords({ path: "../../root/.ssh/authorized_keys" }) },
        { path: "harmless", data: text("key") },
      ],
      "BUNDLE_UNSAFE",
      '"../../root/.ssh/authorized_keys"',
    );
  });

  test("a GNU long name that is absolute", () => {
    const long = `/${"x".repeat(150)}`;
    rejects(
      [
        { path: "././@LongLink", type: "L", data: text(long), format: "gnu" },
        { path: "short", data: text("x"), format: "gnu" },
      ],
      "BUNDLE_UNSAFE",
      JSON.stringify(long),
    );
  });

  test("the caller's codes and archive name are used", () => {
    const err = agentErrorOf(() =>
      readTarGz(tgz([{ path: "../evil", data: text("x") }]), roomy, {
        codes: { unsafe: "PACKAGE_UNSAFE", tooLarge: "PACKAGE_TOO_LARGE", invalid: "PACKAGE_INVALID" },
        what: "package https://wfm.example/app.tar.gz",
      }),
    );
    expectCode(err, "PACKAGE_UNSAFE");
    expect(err.message).toStartWith("package https://wfm.example/app.tar.gz: ");
    expect(err.message).toContain('"../evil"');
  });
});

describe("readTarGz enforces the limits (BUNDLE_TOO_LARGE)", () => {
  const limits = { maxEntries: 3, maxEntryBytes: 100, maxTotalBytes: 1000 };

  test("more entries than maxEntries (directories count)", () => {
    const err = rejects(
      [{ path: "d/", type: "5" }, { path: "d/2", data: text("2") }, { path: "d/3", data: text("3") }],
      "BUNDLE_TOO_LARGE",
      '"d/3"',
      limits,
    );
    expect(err.message).toContain("more than 3 entries");
  });

  test("an entry bigger than maxEntryBytes", () => {
    const err = rejects([{ path: "big.bin", data: new Uint8Array(101) }], "BUNDLE_TOO_LARGE", '"big.bin"', limits);
    expect(err.message).toContain("101 bytes, more than the limit of 100");
  });

  test("a header claiming a huge size is refused on the claim, before reading", () => {
    rejects([{ path: "claims-16GiB", size: 16 * 2 ** 30 }], "BUNDLE_TOO_LARGE", '"claims-16GiB"', limits);
  });

  test("a pax size beyond the limit", () => {
    rejects(
      [{ path: "P", type: "x", data: paxRecords({ size: "999999999" }) }, { path: "pax-big", data: text("x") }],
      "BUNDLE_TOO_LARGE",
      '"pax-big"',
      limits,
    );
  });

  test("total decompressed bytes beyond maxTotalBytes", () => {
    const err = rejects(
      [{ path: "a", data: new Uint8Array(100) }, { path: "b", data: new Uint8Array(100) }],
      "BUNDLE_TOO_LARGE",
      '"b"',
      { ...limits, maxTotalBytes: 200 }, // 4 + 100 + 100 bytes
    );
    expect(err.message).toContain("more than the limit of 200 bytes");
  });

  test("long-name and pax headers beyond their own budget", () => {
    rejects(
      [{ path: "P", type: "x", data: paxRecords({ comment: "c".repeat(1024 * 1024 + 1) }) }, { path: "f", data: text("x") }],
      "BUNDLE_TOO_LARGE",
      '"P"',
      { maxEntries: 10, maxEntryBytes: 10, maxTotalBytes: 10 },
    );
  });
});

describe("readTarGz refuses malformed archives (BUNDLE_INVALID)", () => {
  const tarOf = (entries: RawTarEntry[]) => writeTar([ok, ...entries]);
  const read = (tar: Uint8Array) => agentErrorOf(() => readTarGz(gzipDeterministic(tar), roomy));

  test("a corrupted header checksum, naming the entry", () => {
    const tar = tarOf([{ path: "tampered.yaml", data: text("x") }]);
    tar[1024 + 100] = tar[1024 + 100]! ^ 0x01; // flip a bit of the second header's mode field
    const err = expectCode(read(tar), "BUNDLE_INVALID");
    expect(err.message).toContain('"tampered.yaml"');
    expect(err.message).toContain("checksum");
  });

  test("a checksum field that is not a number", () => {
    const tar = tarOf([]);
    tar.set(text("zzzzzz\u0000 "), 148);
    expect(expectCode(read(tar), "BUNDLE_INVALID").message).toContain("checksum");
  });

  test("truncated inside an entry's data", () => {
    const tar = tarOf([{ path: "cut.bin", data: new Uint8Array(2000) }]);
    const err = expectCode(read(tar.subarray(0, 1024 + 512 + 1024)), "BUNDLE_INVALID");
    expect(err.message).toContain("truncated");
    expect(err.message).toContain('"cut.bin"');
  });

  test("truncated inside a header", () => {
    const tar = tarOf([{ path: "b", data: text("b") }]);
    expect(expectCode(read(tar.subarray(0, 1024 + 100)), "BUNDLE_INVALID").message).toContain("partial header");
  });

  test("truncated at a block boundary, without the end marker", () => {
    const tar = tarOf([]);
    expect(expectCode(read(tar.subarray(0, 1024)), "BUNDLE_INVALID").message).toContain("end-of-archive");
  });

  test("a truncated gzip stream", () => {
    const gz = tgz([ok]);
    expect(expectCode(agentErrorOf(() => readTarGz(gz.subarray(0, gz.length - 6), roomy)), "BUNDLE_INVALID").message).toContain(
      "not valid gzip",
    );
  });

  test("a gzip stream whose CRC does not match", () => {
    const gz = tgz([ok]);
    gz[gz.length - 8] = gz[gz.length - 8]! ^ 0xff;
    expectCode(agentErrorOf(() => readTarGz(gz, roomy)), "BUNDLE_INVALID");
  });

  test.each([
    ["plain text", text("this is not gzip")],
    ["a bare tar", writeTar([ok])],
    ["nothing", new Uint8Array(0)],
  ])("input that is not gzip: %s", (_, bytes) => {
    const err = expectCode(agentErrorOf(() => readTarGz(bytes, roomy, { what: "bundle sha256:abc" })), "BUNDLE_INVALID");
    expect(err.message).toBe("bundle sha256:abc: is not gzip data (no gzip magic bytes)");
  });

  test("gzip of something that is not a tar", () => {
    const err = expectCode(agentErrorOf(() => readTarGz(gzipDeterministic(new Uint8Array(600).fill(0x41)), roomy)), "BUNDLE_INVALID");
    expect(err.message).toContain("checksum");
  });

  test("entries hidden after the end-of-archive marker", () => {
    const tar = new Uint8Array([...writeTar([ok]), ...writeTar([{ path: "hidden", data: text("h") }])]);
    expect(expectCode(read(tar), "BUNDLE_INVALID").message).toContain("after the end-of-archive marker");
  });

  test("the same path twice", () => {
    const err = expectCode(read(tarOf([{ path: "./ok.yaml", data: text("other") }])), "BUNDLE_INVALID");
    expect(err.message).toContain('"./ok.yaml" appears twice');
  });

  test("a path that is both a file and a directory", () => {
    const err = expectCode(read(tarOf([{ path: "ok.yaml/inner", data: text("x") }])), "BUNDLE_INVALID");
    expect(err.message).toContain('"ok.yaml/inner" lies under "ok.yaml"');
    expectCode(read(tarOf([{ path: "ok.yaml", type: "5" }])), "BUNDLE_INVALID");
  });

  test("a malformed pax header", () => {
    const err = expectCode(read(tarOf([{ path: "P", type: "x", data: text("99 path=x\n") }, { path: "f" }])), "BUNDLE_INVALID");
    expect(err.message).toContain('pax header "P" is malformed');
  });

  test("a long-name header with no entry after it", () => {
    expectCode(read(tarOf([{ path: "././@LongLink", type: "L", data: text("dangling"), format: "gnu" }])), "BUNDLE_INVALID");
  });

  test("a name that is not UTF-8", () => {
    const tar = writeTar([{ path: "xx.yaml", data: text("x") }]);
    tar[0] = 0xff; // then fix the checksum so only the name is wrong
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.set(text(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
    expect(expectCode(read(tar), "BUNDLE_INVALID").message).toContain("not UTF-8");
  });

  test("the crafted archives really are what the tests say (sanity check of the writer)", () => {
    const tar = new Uint8Array(gunzipSync(tgz([{ path: "l", type: "2", linkname: "/etc" }])));
    expect(String.fromCharCode(tar[156]!)).toBe("2");
    expect(new TextDecoder().decode(tar.subarray(157, 161))).toBe("/etc");
  });
});
