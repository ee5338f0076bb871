import * as v from "valibot";

const EXTENSION_KEY = /^x-[a-z][a-z0-9-]*-extensions$/;

/**
 * Keys valibot's object and record schemas drop without a word (its guard
 * against prototype pollution), so an unknown-field check on their output
 * never sees them. They are refused on the input instead: a document that
 * carries one is malformed or probing, never something to half-read.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** A pipe action refusing own reserved keys of an object input (anything else passes to the schema after it). */
export const noReservedKeys = v.rawCheck<unknown>(({ dataset, addIssue }) => {
  const value = dataset.value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (RESERVED_KEYS.has(key)) {
      addIssue({
        message: `field ${JSON.stringify(key)} is not allowed (reserved name)`,
        path: [{ type: "object", origin: "key", input: value as Record<string, unknown>, key, value: (value as Record<string, unknown>)[key] }],
      });
    }
  }
});

/** An object schema that also refuses reserved keys (see RESERVED_KEYS); unknown keys are kept as looseObject keeps them. */
export function guardedLooseObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(v.unknown(), noReservedKeys, v.looseObject(entries));
}

/** A record schema that refuses reserved keys instead of silently dropping them. */
export function guardedRecord<const K extends v.GenericSchema<string, string>, const S extends v.GenericSchema>(key: K, value: S) {
  return v.pipe(v.unknown(), noReservedKeys, v.record(key, value));
}

/**
 * An object schema that rejects unknown keys but allows Margo's vendor
 * extensions (`x-<name>-extensions`), as the specification's schemas do.
 * Reserved keys (`__proto__`, `constructor`, `prototype`) are refused too.
 */
export function extensibleObject<const E extends v.ObjectEntries>(entries: E, extraAllowed: readonly string[] = []) {
  const known = new Set([...Object.keys(entries), ...extraAllowed]);
  return v.pipe(
    v.unknown(),
    noReservedKeys,
    v.looseObject(entries),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      for (const key of Object.keys(dataset.value as object)) {
        if (!known.has(key) && !EXTENSION_KEY.test(key)) {
          addIssue({
            message: `unknown field ${JSON.stringify(key)} (known: ${[...known].join(", ")}, or x-<name>-extensions)`,
            path: [{ type: "object", origin: "value", input: dataset.value as Record<string, unknown>, key, value: (dataset.value as Record<string, unknown>)[key] }],
          });
        }
      }
    }),
  );
}

/** "metadata.name: must be a string" lines from valibot issues. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${v.getDotPath(i) ?? "(top level)"}: ${i.message}`)
    .join("; ");
}
