/**
 * Validates values against the schemas of the rc.3 Workload Management OpenAPI
 * (OpenAPI 3.1, so JSON Schema 2020-12, through ajv's 2020 build), so the bodies
 * the agent sends in the rc3 profile are checked against the normative file.
 * The file lives in shared/ beside the repository, as for test/support/openapi.ts
 * (which validates against rc.2).
 *
 * Known defect worked around (PROTOCOL.md §8, still in rc.3):
 * UnsignedAppStateManifest.required lists "bundle.mediaType", "bundle.digest"
 * and "bundle.url"; dotted names are not JSON Schema, so they are dropped.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { parse } from "yaml";

export const RC3_OPENAPI = path.resolve(import.meta.dir, "../../../../shared/margo/openapi/workload-management-api-1.0.0-rc.3.yaml");
const ID = "margo-wfm-1.0.0-rc.3";
const DOTTED = new Set(["bundle.mediaType", "bundle.digest", "bundle.url"]);
let ajv: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction>();

function load(): Ajv2020 {
  if (ajv) return ajv;
  if (!existsSync(RC3_OPENAPI)) throw new Error(`rc.3 OpenAPI file not found at ${RC3_OPENAPI}`);
  const doc = parse(readFileSync(RC3_OPENAPI, "utf8")) as { components: { schemas: Record<string, Record<string, unknown>> } };
  const schemas = structuredClone(doc.components.schemas);
  const manifest = schemas.UnsignedAppStateManifest;
  if (manifest && Array.isArray(manifest.required)) manifest.required = manifest.required.filter((n: unknown) => !DOTTED.has(String(n)));
  // strict off: the document carries OpenAPI keywords (x-go-type, examples); formats are not checked.
  ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  ajv.addSchema({ $id: ID, components: { schemas } });
  return ajv;
}

export function validateRc3(schema: string, value: unknown): { valid: boolean; errors: string } {
  let validate = cache.get(schema);
  if (!validate) {
    validate = load().getSchema(`${ID}#/components/schemas/${schema}`);
    if (!validate) throw new Error(`no schema ${schema} in ${RC3_OPENAPI}`);
    cache.set(schema, validate);
  }
  const valid = validate(value) === true;
  return {
    valid,
    errors: valid ? "" : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`).join("; "),
  };
}

/** Throws, naming every violation, unless `value` matches #/components/schemas/<schema> of rc.3. */
export function assertRc3(schema: string, value: unknown): void {
  const { valid, errors } = validateRc3(schema, value);
  if (!valid) throw new Error(`value does not match rc.3 ${schema}: ${errors}\n${JSON.stringify(value)}`);
}
