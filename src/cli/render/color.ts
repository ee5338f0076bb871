/** ANSI colour, only for a terminal and never when NO_COLOR is set (https://no-color.org). */
export function colorEnabled(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== "dumb";
}

export type Style = "red" | "green" | "yellow" | "dim" | "bold";

const CODES: Record<Style, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] };

export type Painter = (text: string, style: Style | undefined) => string;

export function painter(enabled: boolean): Painter {
  return (text, style) => (enabled && style && text ? `\x1b[${CODES[style][0]}m${text}\x1b[${CODES[style][1]}m` : text);
}

/** The colour a deployment or component state is shown in. */
export function stateStyle(state: string): Style | undefined {
  if (state === "failed") return "red";
  if (state === "installed") return "green";
  if (state === "installing" || state === "pending" || state === "removing") return "yellow";
  return undefined;
}
