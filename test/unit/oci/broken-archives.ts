/** Archives that break one Margo compose archive rule each (shared by the unit and registry tests). */
import type { RawTarEntry } from "../../../src/archive/index.ts";

export const COMPOSE = "services:\n  web:\n    image: busybox\n";
const enc = (s: string) => new TextEncoder().encode(s);
export const file = (path: string, body = "x", extra: Partial<RawTarEntry> = {}): RawTarEntry => ({ path, data: enc(body), ...extra });

/** Hostile or malformed archives: [name, entries, code, words in the message]. */
export const BROKEN_ARCHIVES: [string, RawTarEntry[], string, string][] = [
  ["two top-level directories", [file("app/compose.yaml", COMPOSE), file("other/x")], "ARTIFACT_INVALID", "2 top-level directories"],
  ["a file at the top level", [file("compose.yaml", COMPOSE)], "ARTIFACT_INVALID", "lies at the top level"],
  ["no compose.yaml", [file("app/readme.md")], "ARTIFACT_INVALID", "holds no compose.yaml"],
  ["compose.yml beside compose.yaml", [file("app/compose.yaml", COMPOSE), file("app/compose.yml", COMPOSE)], "ARTIFACT_INVALID", "must be named compose.yaml"],
  ["only docker-compose.yaml", [file("app/docker-compose.yaml", COMPOSE)], "ARTIFACT_INVALID", "must be named compose.yaml"],
  ["a symbolic link (even one pointing inside)", [file("app/compose.yaml", COMPOSE), { path: "app/link", type: "2", linkname: "compose.yaml" }], "PACKAGE_UNSAFE", "symbolic link"],
  ["a symbolic link out of the directory", [file("app/compose.yaml", COMPOSE), { path: "app/passwd", type: "2", linkname: "/etc/passwd" }], "PACKAGE_UNSAFE", "symbolic link"],
  ["a hard link", [file("app/compose.yaml", COMPOSE), { path: "app/h", type: "1", linkname: "/etc/shadow" }], "PACKAGE_UNSAFE", "hard link"],
  ["an absolute path", [file("app/compose.yaml", COMPOSE), file("/etc/cron.d/evil")], "PACKAGE_UNSAFE", "absolute path"],
  ["a '..' path", [file("app/compose.yaml", COMPOSE), file("app/../../evil")], "PACKAGE_UNSAFE", "'..'"],
  ["a device node", [file("app/compose.yaml", COMPOSE), { path: "app/sda", type: "4" }], "PACKAGE_UNSAFE", "block device"],
  ["an env_file outside the directory", [file("app/compose.yaml", "services:\n  web:\n    image: b\n    env_file: ../../etc/environment\n")], "ARTIFACT_INVALID", "env_file"],
  ["an absolute configs file", [file("app/compose.yaml", "services: {}\nconfigs:\n  c:\n    file: /etc/passwd\n")], "ARTIFACT_INVALID", "configs.c.file"],
  ["an env_file the archive lacks", [file("app/compose.yaml", "services:\n  web:\n    image: b\n    env_file: [app.env]\n")], "ARTIFACT_INVALID", "does not hold"],
  ["a compose.yaml that is not a mapping", [file("app/compose.yaml", "- a\n- b\n")], "ARTIFACT_INVALID", "not a YAML mapping"],
  ["an empty archive", [], "ARTIFACT_INVALID", "no files"],
];

