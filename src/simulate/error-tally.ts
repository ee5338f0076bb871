/**
 * The devices' log, counted by error code (docs/simulate.md): every line a
 * simulated device logs at warn or above carries the agent's stable code
 * (README, "Error codes"), so the tally is the fleet's errors by code, with
 * no second way of classifying failures. Lines go on to `sink` when given.
 */
export class ErrorTally {
  readonly byCode = new Map<string, number>();
  private pending = "";

  constructor(private readonly sink?: { write(text: string): void }) {}

  /** pino's destination: whole lines, possibly several per call. */
  write(text: string): boolean {
    this.sink?.write(text);
    const lines = (this.pending + text).split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.count(line);
    return true;
  }

  private count(line: string): void {
    const m = /"code":"([A-Z0-9_]+)"/.exec(line);
    const code = m ? m[1]! : "UNCODED";
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }

  total(): number {
    let n = 0;
    for (const v of this.byCode.values()) n += v;
    return n;
  }
}
