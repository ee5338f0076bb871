/**
 * Validates values against the Margo WFM OpenAPI schemas (rc.2), so tests can prove that what
 * the agent sends and the fake WFM serves match the normative document, not just our own types.
 *
 * The OpenAPI file lives in shared/ beside the repository (in CI too: the clone gets a copy of
 * shared/ next to it), never in the repository itself.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { parse } from "yaml";

const REPO_ROOT = path.resolve(import.meta.dir, "../..");
export const OPENAPI_FILE = path.resolve(REPO_ROOT, "../shared/margo/openapi/workload-management-api-1.0.0-rc.2.yaml");

/** Names of properties in `UnsignedAppStateManifest.required` that are not JSON Schema. */
const DOTTED_REQUIRED = new Set(["bundle.mediaType", "bundle.digest", "bundle.url"]);
const DOCUMENT_ID = "margo-wfm-1.0.0-rc.2";

type Schemas = Record<string, Record<string, unknown>>;

let ajv: Ajv2020 | undefined;
let schemas: Schemas | undefined;
const validators = new Map<string, ValidateFunction>();

function load(): { ajv: Ajv2020; schemas: Schemas } {
  if (ajv && schemas) return { ajv, schemas };
  if (!existsSync(OPENAPI_FILE)) {
    throw new Error(
      `Margo OpenAPI file not found at ${OPENAPI_FILE}: the tests expect shared/margo/openapi/ beside the repository root (${REPO_ROOT})`,
    );
  }
  const document = parse(readFileSync(OPENAPI_FILE, "utf8")) as { components?: { schemas?: Schemas } };
  const found = document.components?.schemas;
  if (!found) throw new Error(`${OPENAPI_FILE} has no components.schemas`);
  schemas = structuredClone(found);

  // Workaround for a defect of rc.2 (PROTOCOL.md §8): UnsignedAppStateManifest.required lists
  // "bundle.mediaType", "bundle.digest" and "bundle.url" beside the real property names. Dotted
  // names are not JSON Schema: a validator would demand properties literally named that way.
  // They are dropped here; the nested requirement is DeploymentBundleRef's to carry.
  const manifest = schemas.UnsignedAppStateManifest;
  if (manifest && Array.isArray(manifest.required)) {
    manifest.required = manifest.required.filter((name: unknown) => !DOTTED_REQUIRED.has(String(name)));
  }

  // OpenAPI 3.1 schemas are JSON Schema 2020-12. strict is off because the document carries
  // keywords that are OpenAPI's, not JSON Schema's (x-go-type, and the components wrapper that
  // the '#/components/schemas/…' references point into).
  ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas } });
  return { ajv, schemas };
}

function validatorFor(schemaName: string): ValidateFunction {
  const cached = validators.get(schemaName);
  if (cached) return cached;
  const { ajv, schemas } = load();
  if (!(schemaName in schemas)) {
    throw new Error(`no schema #/components/schemas/${schemaName} in ${OPENAPI_FILE}; known: ${Object.keys(schemas).join(", ")}`);
  }
  const validate = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`ajv could not compile #/components/schemas/${schemaName}`);
  validators.set(schemaName, validate);
  return validate;
}

/** Names of every schema under #/components/schemas. */
export function schemaNames(): string[] {
  return Object.keys(load().schemas);
}

/** Checks `value` against #/components/schemas/<schemaName>; `errors` is "" when valid. */
export function validateAgainstSchema(schemaName: string, value: unknown): { valid: boolean; errors: string } {
  const validate = validatorFor(schemaName);
  const valid = validate(value) === true;
  return { valid, errors: valid ? "" : formatErrors(validate.errors ?? []) };
}

/** Throws, listing every violation, unless `value` matches #/components/schemas/<schemaName>. */
export function assertValid(schemaName: string, value: unknown): void {
  const { valid, errors } = validateAgainstSchema(schemaName, value);
  if (!valid) throw new Error(`value does not match ${schemaName}:\n${errors}`);
}

function formatErrors(errors: readonly ErrorObject[]): string {
  return errors
    .map((error) => {
      const where = error.instancePath === "" ? "(root)" : error.instancePath;
      const params = error.params as Record<string, unknown>;
      let detail = "";
      if (Array.isArray(params.allowedValues)) detail = ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")})`;
      else if (typeof params.additionalProperty === "string") detail = ` (${JSON.stringify(params.additionalProperty)})`;
      return `  ${where} ${error.message ?? error.keyword}${detail}`;
    })
    .join("\n");
}
