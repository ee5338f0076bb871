/**
 * ApplicationDeployment (docs/protocol.md §5), tolerant of the variants seen
 * in the wild: id at the top level (rc3) or in metadata.annotations,
 * applicationId in the annotations or the spec (rc3), "helm" for "helm.v3",
 * wait as boolean or string. The rc3 shape adds metadata.deviceId, components
 * named by repository + revision, and deploymentProfile.deviceConstraints.
 */
import * as v from "valibot";
import type { Selector } from "../model/deployment.ts";
import { parseDuration } from "../util/duration.ts";
import { deploymentIdSchema } from "../protocol/deployment-id.ts";
import { extensibleObject, guardedLooseObject, guardedRecord, noReservedKeys } from "../protocol/strict-keys.ts";

const text = v.pipe(v.string(), v.minLength(1, "must not be empty"));

const wait = v.optional(
  v.pipe(
    v.union([v.boolean(), v.picklist(["true", "false"])], 'must be true, false, "true" or "false"'),
    v.transform((w) => w === true || w === "true"),
  ),
  false,
);

const timeout = v.optional(
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const ms = parseDuration(dataset.value);
      if (ms === undefined || ms === 0) {
        addIssue({ message: 'must be a duration such as "5m0s" or "90s"' });
        return NEVER;
      }
      return ms;
    }),
  ),
  "5m0s",
);

const ComponentProperties = extensibleObject({
  packageLocation: v.optional(text),
  keyLocation: v.optional(text),
  repository: v.optional(text),
  revision: v.optional(v.string()),
  timeout,
  wait,
});

const ComponentSchema = extensibleObject({
  name: v.pipe(text, v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'")),
  properties: ComponentProperties,
});

// The value is the operator's data, passed on as it is; the mappings around it are ours to check.
const ParameterSchema = v.pipe(
  v.unknown(),
  noReservedKeys,
  v.object({
    value: v.unknown(),
    targets: v.array(
      v.pipe(
        v.unknown(),
        noReservedKeys,
        v.object({
          pointer: v.pipe(text, v.regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be usable as an environment variable name")),
          components: v.array(text),
        }),
      ),
    ),
  }),
);

/**
 * rc.3 DeviceId_with_asterisk: "{id}[/{id}…]" with RFC 3986 unreserved
 * characters, optionally ending in "/*" (any child of that gateway).
 */
const deviceIdWithAsterisk = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*(\/\*)?$/, 'must be a device id ("id", "gateway/child", or "gateway/*"; letters, digits and . _ ~ -)'),
);

export const BINARY_POWER: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** "1024Mi", "5Gi" (rc.3 binary units; a space is tolerated, as the specification's own examples write "59 Gi"). */
const binarySize = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const text = dataset.value;
    const m = /^\s*(\d+)\s*(Ki|Mi|Gi|Ti|Pi|Ei)\s*$/.exec(text);
    const bytes = m ? Number(m[1]) * 1024 ** BINARY_POWER[m[2]!]! : undefined;
    if (bytes === undefined || !Number.isFinite(bytes)) {
      addIssue({ message: 'must be a binary-unit size such as "512Mi" or "5Gi"' });
      return NEVER;
    }
    return { text, bytes };
  }),
);

// The OpenAPI leaves these objects open (no additionalProperties: false): unknown keys are
// tolerated, so a later revision's fields do not make a deployment undeployable; reserved
// keys are still refused.
const SelectorSchema: v.GenericSchema<unknown, Selector> = v.lazy(() =>
  guardedLooseObject({
    matchExpressions: v.array(
      guardedLooseObject({
        key: v.pipe(v.string(), v.minLength(1, "must not be empty")),
        operator: v.pipe(v.string(), v.minLength(1, "must not be empty")),
        values: v.optional(v.array(v.unknown())),
        itemSelector: v.optional(SelectorSchema),
      }),
    ),
  }),
);

const DeviceConstraintsSchema = guardedLooseObject({
  capacityRequirements: v.optional(
    guardedLooseObject({
      cpu: v.optional(
        guardedLooseObject({
          cores: v.pipe(v.number("must be a number of cores (0.5 is half a core)"), v.finite(), v.minValue(0, "must not be negative")),
          architectures: v.optional(v.array(v.string())),
        }),
      ),
      memory: v.optional(binarySize),
      storage: v.optional(binarySize),
    }),
  ),
  eligibilityRules: v.optional(
    v.array(
      guardedLooseObject({
        propertySelector: v.optional(SelectorSchema),
        labelSelector: v.optional(SelectorSchema),
      }),
    ),
  ),
});

export const ApplicationDeploymentSchema = extensibleObject({
  apiVersion: text,
  kind: v.literal("ApplicationDeployment", 'must be "ApplicationDeployment"'),
  id: v.optional(deploymentIdSchema),
  metadata: extensibleObject({
    name: text,
    namespace: v.optional(v.string()),
    deviceId: v.optional(deviceIdWithAsterisk),
    labels: v.optional(guardedRecord(v.string(), v.string())),
    annotations: v.optional(guardedLooseObject({ id: v.optional(deploymentIdSchema), applicationId: v.optional(text) })),
  }),
  spec: extensibleObject({
    applicationId: v.optional(text),
    deploymentProfile: extensibleObject({
      type: v.pipe(
        v.picklist(["compose", "helm", "helm.v3"], "must be compose, helm or helm.v3"),
        v.transform((t) => (t === "compose" ? ("compose" as const) : ("helm.v3" as const))),
      ),
      components: v.pipe(v.array(ComponentSchema), v.minLength(1, "must list at least one component")),
      deviceConstraints: v.optional(DeviceConstraintsSchema),
    }),
    parameters: v.optional(v.nullable(guardedRecord(v.string(), ParameterSchema))),
  }),
});

export type ApplicationDeploymentDoc = v.InferOutput<typeof ApplicationDeploymentSchema>;
