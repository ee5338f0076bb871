/**
 * JSON.parse that keeps integers exact: any integer beyond 2^53 comes back as a
 * bigint (manifestVersion goes up to 2^64-1). Uses the reviver's source text
 * (ES2025 JSON.parse source access, in Bun and V8).
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, function (this: unknown, _key: string, value: unknown, context?: { source?: string }) {
    if (typeof value === "number" && !Number.isSafeInteger(value) && Number.isFinite(value)) {
      const source = context?.source;
      if (source && /^-?\d+$/.test(source)) return BigInt(source);
      if (source === undefined && Number.isInteger(value)) {
        throw new Error("this JavaScript runtime cannot parse large integers exactly (no JSON source access)");
      }
    }
    return value;
  } as (key: string, value: unknown) => unknown);
}
