/**
 * Private key text that cannot reach a log line by accident: JSON (pino),
 * string conversion and console inspection all print "[redacted]". The only
 * way to the text is `reveal()`, called where TLS options are built.
 */
const REDACTED = "[redacted]";

export class SecretText {
  readonly #text: string;
  constructor(text: string) {
    this.#text = text;
  }
  reveal(): string {
    return this.#text;
  }
  equals(other: SecretText): boolean {
    return this.#text === other.#text;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}
