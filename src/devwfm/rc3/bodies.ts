/**
 * The two bodies an rc3 client sends, checked the way a strict WFM would (the
 * rc.3 workload-management API): DeploymentStatusManifest and
 * DeviceCapabilitiesManifest. Stricter than the OpenAPI document in two
 * places, on purpose, so an agent that sends the rc.2 shape finds out here:
 * unknown keys are refused everywhere (only x-<name>-extensions may be
 * added, as PROTOCOL's capabilities rule says), and memory/storage must be
 * binary-unit strings. Issues come back as RFC 9457 `errors[]` entries.
 */
import * as v from "valibot";
import { extensibleObject, guardedRecord } from "../../protocol/strict-keys.ts";
import { DEPLOYMENT_STATES } from "../status-report.ts";
import type { FieldError } from "./problems.ts";

/** rc.3 DeviceId: `{id}[/{id}…]`, RFC 3986 unreserved characters. */
export const DEVICE_ID = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;
const MAX_U64 = 2n ** 64n - 1n;

const text = v.pipe(v.string(), v.minLength(1, "must not be empty"));
const deviceId = v.pipe(v.string(), v.regex(DEVICE_ID, "must be a device id: segments of A-Z a-z 0-9 . _ ~ - separated by '/'"));
const state = v.picklist(DEPLOYMENT_STATES, `must be one of ${DEPLOYMENT_STATES.join(", ")}`);
const error = v.optional(extensibleObject({ code: v.optional(v.string()), source: v.optional(v.string()), message: v.optional(v.string()) }));

/** parseJsonExact gives integer literals as bigint: exact up to 2^64-1. */
const manifestVersion = v.pipe(
  v.bigint("must be an integer (written without a fraction or exponent)"),
  v.minValue(1n, "must be at least 1"),
  v.maxValue(MAX_U64, "must be at most 2^64-1"),
);

export const Rc3StatusSchema = extensibleObject({
  deploymentId: text,
  deviceId: v.optional(deviceId),
  adoptedManifestVersion: manifestVersion,
  status: extensibleObject({ state, error }),
  components: v.array(extensibleObject({ name: text, state, error })),
});
export type Rc3Status = v.InferOutput<typeof Rc3StatusSchema>;

const quantity = v.pipe(v.string(), v.regex(/^[0-9]+(Ki|Mi|Gi|Ti|Pi|Ei)$/, "must be a binary-unit quantity without a space, e.g. 3814Mi or 29Gi"));
const cores = v.pipe(v.union([v.number(), v.bigint()], "must be a number"), v.check((n) => Number(n) > 0, "must be greater than 0"));
const labelValue = v.union(
  [v.string(), v.number(), v.bigint(), v.boolean(), v.array(v.string()), v.array(v.union([v.number(), v.bigint()]))],
  "must be a string, number, boolean, or an array of strings or of numbers",
);

export const Rc3CapabilitiesSchema = extensibleObject({
  properties: extensibleObject({
    id: deviceId,
    vendor: v.string(),
    modelNumber: v.string(),
    serialNumber: v.string(),
    cpus: v.optional(v.array(extensibleObject({ cores, architecture: v.optional(v.picklist(["amd64", "arm64", "arm"], "must be amd64, arm64 or arm")) }))),
    memory: v.optional(quantity),
    storage: v.optional(quantity),
    peripherals: v.optional(
      v.array(
        extensibleObject({
          type: v.picklist(["gpu", "display", "camera", "microphone", "speaker"], "must be gpu, display, camera, microphone or speaker"),
          manufacturer: v.optional(v.string()),
          model: v.optional(v.string()),
        }),
      ),
    ),
    interfaces: v.optional(
      v.array(extensibleObject({ type: v.picklist(["ethernet", "wifi", "cellular", "bluetooth", "usb", "canbus", "rs232"], "must be ethernet, wifi, cellular, bluetooth, usb, canbus or rs232") })),
    ),
    otelCollector: v.optional(v.boolean()),
    supportedRuntimes: v.optional(v.pipe(v.array(v.picklist(["oci", "custom"], "must be oci or custom")), v.minLength(1, "must list at least one runtime"))),
    supportedDeploymentTypes: v.optional(
      v.pipe(v.array(v.picklist(["helm", "compose", "custom"], "must be helm, compose or custom")), v.minLength(1, "must list at least one deployment type")),
    ),
  }),
  labels: v.optional(guardedRecord(v.string(), labelValue)),
});
export type Rc3Capabilities = v.InferOutput<typeof Rc3CapabilitiesSchema>;

/** Keys of the rc.2 bodies that rc.3 dropped, with what to say about them. */
const RC2_LEFTOVERS: Record<string, string> = {
  apiVersion: "rc.3 bodies carry no apiVersion (that was the rc.2 shape)",
  kind: "rc.3 bodies carry no kind (that was the rc.2 shape)",
};

export type BodyVerdict<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function checkBody<T>(schema: v.GenericSchema<unknown, T>, body: unknown): BodyVerdict<T> {
  const errors: FieldError[] = [];
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    for (const [key, message] of Object.entries(RC2_LEFTOVERS)) if (Object.hasOwn(body, key)) errors.push({ field: key, message });
    if (Object.hasOwn(body, "properties")) {
      const props = (body as { properties?: unknown }).properties;
      if (props !== null && typeof props === "object" && Object.hasOwn(props, "cpu")) {
        errors.push({ field: "properties.cpu", message: "rc.3 names it cpus (cpu was the rc.2 name)" });
      }
    }
  }
  const result = v.safeParse(schema, body);
  if (result.success && errors.length === 0) return { ok: true, value: result.output };
  for (const issue of result.success ? [] : result.issues.slice(0, 10)) {
    const field = v.getDotPath(issue) ?? "(body)";
    // The hints above already say what is wrong with these.
    if (errors.some((e) => e.field === field)) continue;
    errors.push({ field, message: issue.message });
  }
  return { ok: false, errors };
}

export function describeErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join("; ");
}
