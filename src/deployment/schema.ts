/**
 * ApplicationDeployment (PROTOCOL.md §5), tolerant of the variants seen in the
 * wild: id at the top level or in metadata.annotations, applicationId in the
 * annotations or the spec, "helm" for "helm.v3", wait as boolean or string.
 */
import * as v from "valibot";
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

export const ApplicationDeploymentSchema = extensibleObject({
  apiVersion: text,
  kind: v.literal("ApplicationDeployment", 'must be "ApplicationDeployment"'),
  id: v.optional(deploymentIdSchema),
  metadata: extensibleObject({
    name: text,
    namespace: v.optional(v.string()),
    deviceId: v.optional(v.string()),
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
    }),
    parameters: v.optional(v.nullable(guardedRecord(v.string(), ParameterSchema))),
  }),
});

export type ApplicationDeploymentDoc = v.InferOutput<typeof ApplicationDeploymentSchema>;
