/**
 * JSON.parse that keeps integers exact and says how they were written: every
 * number written as a plain integer literal (`42`, `-7`, `18446744073709551615`)
 * comes back as a bigint; every number written with a fraction or an exponent
 * (`1.0`, `1e3`) stays a JS number. So a schema that wants an integer accepts
 * a bigint only, and `9007199254740993.0` (which a double rounds) is refused
 * rather than read as 9007199254740992. Uses the reviver's source text (ES2025
 * JSON.parse source access, in Bun and V8).
 */
const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;

export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
    if (typeof value !== "number") return value;
    const source = context?.source;
    if (source !== undefined) return INTEGER_LITERAL.test(source) ? BigInt(source) : value;
    // No source access: the syntax is unknown; a safe integer is exact either way, a larger one is not.
    if (Number.isSafeInteger(value)) return BigInt(value);
    if (Number.isInteger(value)) throw new Error("this JavaScript runtime cannot parse large integers exactly (no JSON source access)");
    return value;
  } as (key: string, value: unknown) => unknown);
}
