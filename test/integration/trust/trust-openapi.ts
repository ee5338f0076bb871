/**
 * Validates values against the schemas of the rc.3 trust-bundle OpenAPI
 * document (JSON Schema 2020-12 through ajv), so the discovery documents and
 * bundles our tests and the dev WFM produce are checked against the normative
 * file, not only against our own valibot schemas. The file lives in shared/
 * beside the repository, as for test/support/openapi.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { parse } from "yaml";

const FILE = path.resolve(import.meta.dir, "../../../../shared/margo/openapi/trust-bundle-api-1.0.0-rc.3.yaml");
const ID = "margo-trust-bundle-1.0.0-rc.3";
let ajv: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction>();

export function validateTrustApi(schema: string, value: unknown): { valid: boolean; errors: string } {
  if (ajv === undefined) {
    if (!existsSync(FILE)) throw new Error(`trust-bundle OpenAPI file not found at ${FILE}`);
    const doc = parse(readFileSync(FILE, "utf8")) as { components: { schemas: Record<string, unknown> } };
    // strict off: the document carries OpenAPI keywords (examples on properties) and `format: uri`.
    ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema({ $id: ID, components: doc.components });
  }
  let validate = cache.get(schema);
  if (validate === undefined) {
    validate = ajv.getSchema(`${ID}#/components/schemas/${schema}`);
    if (validate === undefined) throw new Error(`no schema ${schema} in ${FILE}`);
    cache.set(schema, validate);
  }
  const valid = validate(value) === true;
  return { valid, errors: valid ? "" : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ") };
}
