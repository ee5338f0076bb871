/** Text the build prints and writes: the checksum file and the size table. */

export interface BuiltFile {
  readonly fileName: string;
  readonly bytes: number;
  /** Lowercase hex SHA-256 of the file. */
  readonly sha256: string;
}

/** `sha256sum` format (two spaces, text mode), so `sha256sum -c SHA256SUMS` checks it. */
export function formatSha256Sums(files: readonly BuiltFile[]): string {
  return files.map((f) => `${f.sha256}  ${f.fileName}\n`).join("");
}

const MIB = 1024 * 1024;

export function formatSizeReport(files: readonly BuiltFile[]): string {
  const rows = files.map((f) => [f.fileName, String(f.bytes), (f.bytes / MIB).toFixed(1)] as const);
  const header = ["file", "bytes", "MiB"] as const;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: readonly string[]) =>
    cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
