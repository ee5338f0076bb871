import { describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { readTarGz, writeTar, writeTarGz, paxRecords } from "../../../src/archive/index.ts";
import { decode, roomy, text, tgz } from "./build.ts";

describe("writeTarGz → readTarGz", () => {
  test("gives back the files, in order, byte for byte", () => {
    const binary = new Uint8Array(1500).map((_, i) => (i * 7) % 256);
    const files = [
      { path: "b.yaml", data: text("kind: ApplicationDeployment\n") },
      { path: "a/empty", data: new Uint8Array(0) },
      { path: "a/bin", data: binary, mode: 0o755 },
    ];
    const entries = readTarGz(writeTarGz(files), roomy);
    expect(entries.map((e) => e.path)).toEqual(["b.yaml", "a/empty", "a/bin"]);
    expect(decode(entries[0]!.data)).toBe("kind: ApplicationDeployment\n");
    expect(entries[1]!.data.length).toBe(0);
    expect([...entries[2]!.data]).toEqual([...binary]);
  });

  test("is deterministic: same input, same bytes", () => {
    const files = () => [{ path: "x.yaml", data: text("a: 1\n") }, { path: "y.yaml", data: text("b: 2\n") }];
    expect([...writeTarGz(files())]).toEqual([...writeTarGz(files())]);
  });

  test("writes mtime 0, uid/gid 0 and the ustar magic", () => {
    const tar = new Uint8Array(gunzipSync(writeTarGz([{ path: "f", data: text("x") }])));
    const field = (o: number, l: number) => decode(tar.subarray(o, o + l));
    expect(field(136, 12)).toBe("00000000000\u0000");
    expect(field(108, 8)).toBe("0000000\u0000");
    expect(field(116, 8)).toBe("0000000\u0000");
    expect(field(257, 8)).toBe("ustar\u000000");
  });

  test("an empty archive reads as no files", () => {
    expect(readTarGz(writeTarGz([]), roomy)).toEqual([]);
  });

  test("paths longer than 100 bytes survive, via the ustar prefix or a pax record", () => {
    const splittable = `${"dir/".repeat(30)}file.yaml`; // 129 bytes, splits at a '/'
    const unsplittable = `${"n".repeat(180)}.yaml`; // no '/': needs pax
    const entries = readTarGz(
      writeTarGz([
        { path: splittable, data: text("1") },
        { path: unsplittable, data: text("2") },
      ]),
      roomy,
    );
    expect(entries.map((e) => e.path)).toEqual([splittable, unsplittable]);
    expect(entries.map((e) => decode(e.data))).toEqual(["1", "2"]);
  });

  test("multi-byte UTF-8 names round trip", () => {
    const entries = readTarGz(writeTarGz([{ path: "über/ファイル.yaml", data: text("ok") }]), roomy);
    expect(entries[0]!.path).toBe("über/ファイル.yaml");
  });
});

describe("readTarGz on what other writers produce", () => {
  test("strips './', skips directory entries, collapses '//' and '/./'", () => {
    const entries = readTarGz(
      tgz([
        { path: "./", type: "5" },
        { path: "./dir/", type: "5" },
        { path: "./dir/a.yaml", data: text("a") },
        { path: "dir//./b.yaml", data: text("b") },
        { path: "old-style-dir/", type: "0" },
      ]),
      roomy,
    );
    expect(entries.map((e) => e.path)).toEqual(["dir/a.yaml", "dir/b.yaml"]);
  });

  test("GNU long names ('L' entries) in GNU-format headers", () => {
    const long = `${"deep/".repeat(40)}app.yaml`;
    const entries = readTarGz(
      tgz([
        { path: "././@LongLink", type: "L", data: text(`${long}\u0000`), format: "gnu" },
        { path: long.slice(0, 100), data: text("long"), format: "gnu" },
        { path: "short.yaml", data: text("short"), format: "gnu" },
      ]),
      roomy,
    );
    expect(entries.map((e) => e.path)).toEqual([long, "short.yaml"]);
    expect(decode(entries[0]!.data)).toBe("long");
  });

  test("pax 'x' headers set path and size for the next entry only; 'g' headers are ignored", () => {
    const entries = readTarGz(
      tgz([
        { path: "pax_global_header", type: "g", data: paxRecords({ comment: "built by test", path: "ignored" }) },
        { path: "PaxHeaders/1", type: "x", data: paxRecords({ path: "real/name.yaml", size: "3", mtime: "1.5" }) },
        { path: "stand-in", data: text("abc"), size: 0 },
        { path: "next.yaml", data: text("n") },
      ]),
      roomy,
    );
    expect(entries.map((e) => [e.path, decode(e.data)])).toEqual([
      ["real/name.yaml", "abc"],
      ["next.yaml", "n"],
    ]);
  });

  test("v7 headers (no magic) and contiguous files (type '7') are read as regular files", () => {
    const entries = readTarGz(
      tgz([
        { path: "v7.yaml", data: text("v7"), format: "v7" },
        { path: "contig", type: "7", data: text("c") },
      ]),
      roomy,
    );
    expect(entries.map((e) => e.path)).toEqual(["v7.yaml", "contig"]);
  });

  test("record padding after the end marker is accepted", () => {
    const tar = writeTar([{ path: "a", data: text("a") }]);
    const padded = new Uint8Array(10240);
    padded.set(tar);
    const entries = readTarGz(new Uint8Array(Bun.gzipSync(padded)), roomy);
    expect(entries.map((e) => e.path)).toEqual(["a"]);
  });
});
