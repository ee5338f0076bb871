/**
 * A real terminal for CLI tests: a private tmux server (its own socket, never
 * the user's), one window of a fixed size running the command, keys sent with
 * send-keys and the screen read with capture-pane. The pane stays after the
 * command exits, so its last screen can be read, and its exit status is kept.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "../integration/build/requirement.ts";

export const tmuxTool = requireTool("tmux", "Debian package tmux");

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export class Terminal {
  private readonly dir = mkdtempSync(join(tmpdir(), "margo-tmux-"));
  private readonly socket = join(this.dir, "sock");
  private readonly statusFile = join(this.dir, "status");

  private tmux(...args: string[]): string {
    const r = Bun.spawnSync(["tmux", "-S", this.socket, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr.toString().trim()}`);
    return r.stdout.toString();
  }

  /** Starts `argv` in a `width`×`height` terminal, in `cwd`, with exactly `env` (TERM is xterm-256color). */
  constructor(argv: string[], o: { cwd: string; env: Record<string, string>; width?: number; height?: number }) {
    const env = Object.entries({ TERM: "xterm-256color", ...o.env }).map(([k, v]) => `${k}=${quote(v)}`).join(" ");
    // The status goes to a file: tmux may see the pty close before the process's exit and never learn it.
    // A trap (not an ignore, which children would inherit) keeps the shell alive past a Ctrl-C meant for the command.
    const command = `trap true INT; cd ${quote(o.cwd)} && env -i ${env} ${argv.map(quote).join(" ")}; echo $? > ${quote(this.statusFile)}`;
    // One tmux command list: the pane must outlive a command that exits at once, to read its status.
    this.tmux("start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";", "new-session", "-d", "-s", "t", "-x", String(o.width ?? 160), "-y", String(o.height ?? 50), "sh", "-c", command);
  }

  /** The screen as text (no colours), trailing blank lines dropped. */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", "t").replace(/\n+$/, "");
  }

  /** The whole scrollback as text. */
  history(): string {
    return this.tmux("capture-pane", "-p", "-S", "-", "-t", "t").replace(/\n+$/, "");
  }

  /** The screen with its ANSI colour codes. */
  screenWithColours(): string {
    return this.tmux("capture-pane", "-p", "-e", "-t", "t");
  }

  /** tmux key names: "C-c", "Enter", or literal text. */
  send(...keys: string[]): void {
    this.tmux("send-keys", "-t", "t", ...keys);
  }

  /** The command's exit status once it has exited, else undefined. */
  exitStatus(): number | undefined {
    try {
      const text = readFileSync(this.statusFile, "utf8").trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Waits (a liveness bound, not a measurement) until the scrollback matches. */
  async waitFor(what: RegExp, limitMs = 30_000): Promise<string> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const text = this.history();
      if (what.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${what}; it shows:\n${text.slice(-4000)}`);
      await Bun.sleep(100);
    }
  }

  async waitForExit(limitMs = 30_000): Promise<number> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const status = this.exitStatus();
      if (status !== undefined) return status;
      if (Date.now() > deadline) throw new Error(`the command did not exit; the terminal shows:\n${this.history().slice(-4000)}`);
      await Bun.sleep(100);
    }
  }

  /** Ends the tmux server (and what runs in it) and removes its socket. */
  close(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
