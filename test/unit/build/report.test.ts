import { describe, expect, test } from "bun:test";
import { formatSha256Sums, formatSizeReport } from "../../../build/report.ts";

const files = [
  { fileName: "margo-agent-linux-x64", bytes: 109209776, sha256: "a".repeat(64) },
  { fileName: "margo-agent-linux-arm64-musl", bytes: 1048576, sha256: "b".repeat(64) },
];

describe("build report", () => {
  test("SHA256SUMS uses sha256sum's two-space format", () => {
    expect(formatSha256Sums(files)).toBe(`${"a".repeat(64)}  margo-agent-linux-x64\n${"b".repeat(64)}  margo-agent-linux-arm64-musl\n`);
  });

  test("size report gives bytes and MiB, aligned", () => {
    expect(formatSizeReport(files)).toBe(
      [
        "file                              bytes    MiB",
        "margo-agent-linux-x64         109209776  104.2",
        "margo-agent-linux-arm64-musl    1048576    1.0",
        "",
      ].join("\n"),
    );
  });
});
