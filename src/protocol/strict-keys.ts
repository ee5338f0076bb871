import * as v from "valibot";

const EXTENSION_KEY = /^x-[a-z][a-z0-9-]*-extensions$/;

/**
 * An object schema that rejects unknown keys but allows Margo's vendor
 * extensions (`x-<name>-extensions`), as the specification's schemas do.
 */
export function extensibleObject<const E extends v.ObjectEntries>(entries: E, extraAllowed: readonly string[] = []) {
  const known = new Set([...Object.keys(entries), ...extraAllowed]);
  return v.pipe(
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
