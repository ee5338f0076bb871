/**
 * Validates values against the Margo WFM OpenAPI schemas, so tests can prove that what the
 * agent sends and the dev/fake WFM serves match the normative document, not just our own types.
 *
 * Two documents: rc.2 (the v1 profile; `validateAgainstSchema`, `assertValid`, `schemaNames`)
 * and rc.3 (the rc3 profile; the same three with an `Rc3` suffix). Both are OpenAPI 3.1, i.e.
 * JSON Schema 2020-12, validated with ajv's 2020 build.
 *
 * The OpenAPI files live in shared/ beside the repository (in CI too: the clone gets a copy of
 * shared/ next to it), never in the repository itself.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { parse } from "yaml";

const REPO_ROOT = path.resolve(import.meta.dir, "../..");
const OPENAPI_DIR = path.resolve(REPO_ROOT, "../shared/margo/openapi");
export const OPENAPI_FILE = path.join(OPENAPI_DIR, "workload-management-api-1.0.0-rc.2.yaml");
export const OPENAPI_FILE_RC3 = path.join(OPENAPI_DIR, "workload-management-api-1.0.0-rc.3.yaml");

/** Names of properties in `UnsignedAppStateManifest.required` that are not JSON Schema. */
const DOTTED_REQUIRED = new Set(["bundle.mediaType", "bundle.digest", "bundle.url"]);

type Schemas = Record<string, Record<string, unknown>>;

interface Loaded {
  ajv: Ajv2020;
  schemas: Schemas;
  validators: Map<string, ValidateFunction>;
}

class OpenApiDocument {
  private loaded: Loaded | undefined;

  constructor(
    readonly file: string,
    private readonly id: string,
  ) {}

  private load(): Loaded {
    if (this.loaded) return this.loaded;
    if (!existsSync(this.file)) {
      throw new Error(`Margo OpenAPI file not found at ${this.file}: the tests expect shared/margo/openapi/ beside the repository root (${REPO_ROOT})`);
    }
    const document = parse(readFileSync(this.file, "utf8")) as { components?: { schemas?: Schemas } };
    const found = document.components?.schemas;
    if (!found) throw new Error(`${this.file} has no components.schemas`);
    const schemas = structuredClone(found);

    // Workaround for a defect of rc.2, still present in rc.3 (PROTOCOL.md §8, §9):
    // UnsignedAppStateManifest.required lists "bundle.mediaType", "bundle.digest" and
    // "bundle.url" beside the real property names. Dotted names are not JSON Schema: a
    // validator would demand properties literally named that way. They are dropped here; the
    // nested requirement is DeploymentBundleRef's to carry.
    const manifest = schemas.UnsignedAppStateManifest;
    if (manifest && Array.isArray(manifest.required)) {
      manifest.required = manifest.required.filter((name: unknown) => !DOTTED_REQUIRED.has(String(name)));
    }

    // OpenAPI 3.1 schemas are JSON Schema 2020-12. strict is off because the documents carry
    // keywords that are OpenAPI's, not JSON Schema's (x-go-type, example, and the components
    // wrapper that the '#/components/schemas/…' references point into). Formats (rc.3's
    // `uri-reference` on ProblemDetail) are annotations here: ajv-formats is not a dependency.
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema({ $id: this.id, components: { schemas } });
    this.loaded = { ajv, schemas, validators: new Map() };
    return this.loaded;
  }

  names(): string[] {
    return Object.keys(this.load().schemas);
  }

  validator(schemaName: string): ValidateFunction {
    const { ajv, schemas, validators } = this.load();
    const cached = validators.get(schemaName);
    if (cached) return cached;
    if (!(schemaName in schemas)) {
      throw new Error(`no schema #/components/schemas/${schemaName} in ${this.file}; known: ${Object.keys(schemas).join(", ")}`);
    }
    const validate = ajv.getSchema(`${this.id}#/components/schemas/${schemaName}`);
    if (!validate) throw new Error(`ajv could not compile #/components/schemas/${schemaName}`);
    validators.set(schemaName, validate);
    return validate;
  }

  validate(schemaName: string, value: unknown): { valid: boolean; errors: string } {
    const validate = this.validator(schemaName);
    const valid = validate(value) === true;
    return { valid, errors: valid ? "" : formatErrors(validate.errors ?? []) };
  }
}

const rc2 = new OpenApiDocument(OPENAPI_FILE, "margo-wfm-1.0.0-rc.2");
const rc3 = new OpenApiDocument(OPENAPI_FILE_RC3, "margo-wfm-1.0.0-rc.3");

/** Names of every schema under #/components/schemas (rc.2). */
export function schemaNames(): string[] {
  return rc2.names();
}

/** Checks `value` against rc.2's #/components/schemas/<schemaName>; `errors` is "" when valid. */
export function validateAgainstSchema(schemaName: string, value: unknown): { valid: boolean; errors: string } {
  return rc2.validate(schemaName, value);
}

/** Throws, listing every violation, unless `value` matches rc.2's #/components/schemas/<schemaName>. */
export function assertValid(schemaName: string, value: unknown): void {
  const { valid, errors } = validateAgainstSchema(schemaName, value);
  if (!valid) throw new Error(`value does not match ${schemaName}:\n${errors}`);
}

/** Names of every schema under #/components/schemas (rc.3). */
export function schemaNamesRc3(): string[] {
  return rc3.names();
}

/** Checks `value` against rc.3's #/components/schemas/<schemaName>; `errors` is "" when valid. */
export function validateAgainstSchemaRc3(schemaName: string, value: unknown): { valid: boolean; errors: string } {
  return rc3.validate(schemaName, value);
}

/** Throws, listing every violation, unless `value` matches rc.3's #/components/schemas/<schemaName>. */
export function assertValidRc3(schemaName: string, value: unknown): void {
  const { valid, errors } = validateAgainstSchemaRc3(schemaName, value);
  if (!valid) throw new Error(`value does not match rc.3 ${schemaName}:\n${errors}`);
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
