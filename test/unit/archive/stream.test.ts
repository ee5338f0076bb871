/**
 * The streaming readers (scanTarGz, extractTarGz): the same verdicts as readTarGz whatever the
 * chunking, early stops on bombs (by ratio and by size) that cancel the input, and extraction
 * that writes only under a fresh directory and removes it again on failure.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  RATIO_GRACE_BYTES,
  extractTarGz,
  gzipDeterministic,
  paxRecords,
  readTarGz,
  scanTarGz,
  writeTar,
  writeTarGz,
  type ArchiveInput,
  type RawTarEntry,
  type StreamLimits,
} from "../../../src/archive/index.ts";
import { AgentError } from "../../../src/errors/agent-error.ts";
import { decode, roomy, tarGzBomb, text, tgz, zeroBomb } from "./build.ts";
import { agentErrorOf } from "../../support/agent-error.ts";

const work = mkdtempSync(join(tmpdir(), "archive-stream-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(work, `out-${n++}`);

const errorOf = (p: Promise<unknown>) => agentErrorOf(p);

function syncErrorOf(fn: () => unknown): AgentError | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof AgentError) return err;
    throw err;
  }
}

/** `bytes` in pieces of `size` (1: every byte its own chunk, splitting every header). */
function* pieces(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function scanAll(input: ArchiveInput, limits: StreamLimits = roomy): Promise<[string, string][]> {
  const out: [string, string][] = [];
  await scanTarGz(input, limits, {}, (path, data) => {
    out.push([path, decode(data)]);
  });
  return out;
}

const ok = { path: "ok.yaml", data: text("fine") };

/** Archives every reader must judge alike; the hostile tests show readTarGz's verdict on each. */
const cases: [string, Uint8Array][] = [
  ["a good archive", writeTarGz([ok, { path: "d/e.txt", data: text("e".repeat(3000)) }, { path: `${"p".repeat(120)}/long`, data: text("l") }])],
  ["a '..' path", tgz([ok, { path: "a/../../b", data: text("x") }])],
  ["an absolute GNU long name", tgz([ok, { path: "././@LongLink", type: "L", data: text(`/${"x".repeat(150)}`), format: "gnu" }, { path: "s", data: text("x"), format: "gnu" }])],
  ["a pax path that escapes", tgz([ok, { path: "P", type: "x", data: paxRecords({ path: "../../root/.ssh/authorized_keys" }) }, { path: "harmless", data: text("k") }])],
  ["a symlink", tgz([ok, { path: "innocent.yaml", type: "2", linkname: "/etc/shadow" }])],
  ["a FIFO", tgz([ok, { path: "dev/thing", type: "6" }])],
  ["an oversized entry", tgz([ok, { path: "big.bin", data: new Uint8Array(2 << 20) }])],
  ["a huge size claim", tgz([ok, { path: "claims-16GiB", size: 16 * 2 ** 30 }])],
  ["a duplicate", tgz([ok, { path: "./ok.yaml", data: text("other") }])],
  ["a file under a file", tgz([ok, { path: "ok.yaml/inner", data: text("x") }])],
  ["a file that is a directory", tgz([{ path: "d/", type: "5" }, { path: "d", data: text("x") }])],
  ["a file above a later file", tgz([{ path: "a/b", data: text("x") }, { path: "a", data: text("y") }])],
  ["data after the end marker", gzipDeterministic(new Uint8Array([...writeTar([ok]), ...writeTar([{ path: "hidden", data: text("h") }])]))],
  ["a truncated entry", gzipDeterministic(writeTar([ok, { path: "cut.bin", data: new Uint8Array(2000) }]).subarray(0, 1024 + 512 + 1024))],
  ["a partial header", gzipDeterministic(writeTar([ok, { path: "b", data: text("b") }]).subarray(0, 1024 + 100))],
  ["no end marker", gzipDeterministic(writeTar([ok]).subarray(0, 1024))],
  ["a truncated gzip stream", tgz([ok]).subarray(0, tgz([ok]).length - 6)],
  ["trailing garbage", new Uint8Array([...tgz([ok]), 1, 2, 3, 4])],
  ["not gzip", text("this is not gzip")],
  ["nothing", new Uint8Array(0)],
  ["concatenated members", new Uint8Array([...gzipSync(writeTar([ok]).subarray(0, 700)), ...gzipSync(writeTar([ok]).subarray(700))])],
];

describe("scanTarGz and extractTarGz judge like readTarGz, however the bytes are chunked", () => {
  test.each(cases)("%s", async (_, gz) => {
    const expected = syncErrorOf(() => readTarGz(gz, roomy));
    const wanted = expected ? { code: expected.code, message: expected.message } : readTarGz(gz, roomy).map((e) => [e.path, decode(e.data)]);
    const verdict = async (p: Promise<unknown>) => p.then((v) => v, (err: unknown) => {
      if (!(err instanceof AgentError)) throw err;
      return { code: err.code, message: err.message };
    });
    for (const size of [1, 7, 512, 65536]) {
      expect(await verdict(scanAll(pieces(gz, size)))).toEqual(wanted);
    }
    const dest = freshDir();
    const extracted = await verdict(extractTarGz(pieces(gz, 333), dest, roomy).then((r) => r.files.map((f) => [f, readFileSync(join(dest, f), "utf8")])));
    expect(extracted).toEqual(wanted);
    if (expected) expect(existsSync(dest)).toBe(false);
  });
});

describe("bombs stop early", () => {
  test("a 4 GiB zero bomb stops just past the ratio grace, and cancels the input stream", async () => {
    const bomb = zeroBomb(4);
    let pulled = 0;
    const input = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled * 65536 >= bomb.length) return c.close();
        c.enqueue(bomb.subarray(pulled * 65536, ++pulled * 65536));
      },
    });
    const err = await errorOf(scanAll(input, { ...roomy, maxTotalBytes: 256 << 20, maxRatio: 200 }));
    expect(err.code).toBe("BUNDLE_TOO_LARGE");
    expect(err.message).toContain("expands more than 200-fold");
    // The grace is 1 MiB of output, about 1 KiB of this bomb: a few 64 KiB chunks were read of 64.
    expect(pulled).toBeLessThan(4);
    expect(RATIO_GRACE_BYTES).toBe(1 << 20);
  });

  test("without a ratio bound, the size bound stops it (trailing zeros count)", async () => {
    const err = await errorOf(scanAll(zeroBomb(1), { maxEntries: 10, maxEntryBytes: 1 << 20, maxTotalBytes: 2 << 20 }));
    expect(err.code).toBe("BUNDLE_TOO_LARGE");
    expect(err.message).toMatch(/decompresses to more than \d+ bytes/);
  });

  test("a 900 MiB file in a 0.9 MB package: refused on the ratio before 2 MiB are on disk", async () => {
    const bomb = tarGzBomb([{ path: "compose.yaml", data: text("services: {}\n") }], "data/zeros.bin", 900);
    const dest = freshDir();
    let sizes: number[] = [];
    const err = await errorOf(
      extractTarGz(bomb, dest, { maxEntries: 10, maxEntryBytes: 1 << 30, maxTotalBytes: 1 << 30, maxRatio: 200 }, {
        codes: { unsafe: "PACKAGE_UNSAFE", tooLarge: "PACKAGE_TOO_LARGE", invalid: "PACKAGE_INVALID" },
        what: "package bomb.tar.gz",
        beforeFile: ({ size }) => {
          sizes.push(size);
        },
      }),
    );
    expect(err.code).toBe("PACKAGE_TOO_LARGE");
    expect(err.message).toStartWith("package bomb.tar.gz: expands more than 200-fold");
    expect(sizes).toEqual([13, 900 * 2 ** 20]);
    expect(existsSync(dest)).toBe(false);
    sizes = [];
  });

  test("an ordinary archive of many similar text files stays far below the default ratios", async () => {
    const files = Array.from({ length: 2000 }, (_, i) => ({ path: `conf/${i}.yaml`, data: text(`name: item-${i}\nreplicas: 1\nimage: registry.example/app:1.${i % 7}\n`) }));
    const gz = writeTarGz(files);
    const seen = await scanAll(gz, { maxEntries: 2000, maxEntryBytes: 1 << 20, maxTotalBytes: 64 << 20, maxRatio: 200 });
    expect(seen.length).toBe(2000);
  });
});

describe("extractTarGz", () => {
  test("writes files and directories under the new directory and reports them", async () => {
    const gz = tgz([
      { path: "app/", type: "5" },
      { path: "app/compose.yaml", data: text("services: {}\n") },
      { path: "app/empty/", type: "5" },
      { path: "./app/config//settings.ini", data: text("a=1\n") },
    ] as RawTarEntry[]);
    const dest = freshDir();
    const progress: number[] = [];
    const r = await extractTarGz(gz, dest, roomy, { onProgress: (p) => progress.push(p.files) });
    expect(r).toEqual({ files: ["app/compose.yaml", "app/config/settings.ini"], directories: ["app", "app/empty"], bytes: 17 });
    expect(readFileSync(join(dest, "app/config/settings.ini"), "utf8")).toBe("a=1\n");
    expect(readdirSync(join(dest, "app/empty"))).toEqual([]);
    expect(progress).toEqual([1, 2]);
  });

  test("refuses a destination that already exists (it could hold links)", async () => {
    const dest = freshDir();
    await extractTarGz(tgz([ok]), dest, roomy);
    expect(((await extractTarGz(tgz([ok]), dest, roomy).catch((e) => e)) as NodeJS.ErrnoException).code).toBe("EEXIST");
    expect(readFileSync(join(dest, "ok.yaml"), "utf8")).toBe("fine");
  });

  test("an unsafe entry after good ones: nothing is left, nothing written outside", async () => {
    const dest = freshDir();
    const err = await errorOf(extractTarGz(tgz([ok, { path: "sub/x", data: text("x") }, { path: "../escaped", data: text("e") }]), dest, roomy));
    expect(err.code).toBe("BUNDLE_UNSAFE");
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(join(work, "escaped"))).toBe(false);
  });

  test("beforeFile can stop the extraction (the disk reserve hook)", async () => {
    const dest = freshDir();
    const err = await errorOf(
      extractTarGz(tgz([ok, { path: "big", data: new Uint8Array(5000) }]), dest, roomy, {
        beforeFile: ({ path, size }) => {
          if (size > 1000) throw new AgentError("DISK_SPACE_LOW", `no room for ${path}`);
        },
      }),
    );
    expect(err.code).toBe("DISK_SPACE_LOW");
    expect(existsSync(dest)).toBe(false);
  });
});
