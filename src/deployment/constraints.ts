/**
 * Whether a deployment can ever run on this device (docs/protocol.md §5, rc3):
 * its metadata.deviceId must name this device, and its
 * deploymentProfile.deviceConstraints must be satisfiable by what the device
 * reports in its capabilities (architecture, cores, memory, storage, the
 * eligibility rules on properties and labels). Pure.
 *
 * deviceConstraints are the WFM's placement rules; a device may only refuse a
 * deployment it can never satisfy. So the check is conservative: it refuses
 * only what is certainly unmet. A rule it cannot judge (an operator it does not
 * know, a property the device does not report, a value of another type) counts
 * as met; eligibility rules are alternatives (any one met is enough), the
 * expressions of one selector must all hold. Capacity is judged against what
 * the device has in total, never against what is free now.
 */
import type { DeviceDescription } from "../protocol/capabilities-body.ts";
import type { Deployment, MatchExpression, Selector } from "../model/deployment.ts";
import type { StatusError } from "../model/states.ts";
import { BINARY_POWER } from "./schema.ts";

export interface ConstraintDevice {
  /** The device id the agent reports (device.id, else the machine id). */
  deviceId: string;
  /** What the capabilities report (src/capabilities/collect.ts collectDevice). */
  description: DeviceDescription;
}

type Verdict = true | false | "unknown";

/** "3814Mi", "59 Gi" → bytes; undefined when it is not a binary-unit size. */
function sizeBytes(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^\s*(\d+)\s*(Ki|Mi|Gi|Ti|Pi|Ei)\s*$/.exec(text);
  return m ? Number(m[1]) * 1024 ** BINARY_POWER[m[2]!]! : undefined;
}

/** RFC 6901 JSON Pointer; a key without a leading "/" is taken as a top-level name (lenient). */
function pointer(doc: unknown, key: string): unknown {
  const parts = key === "" ? [] : key.startsWith("/") ? key.slice(1).split("/") : [key];
  let node: unknown = doc;
  for (const raw of parts) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(part)) return undefined;
      node = node[Number(part)];
    } else if (node !== null && typeof node === "object" && Object.hasOwn(node, part)) {
      node = (node as Record<string, unknown>)[part];
    } else {
      return undefined;
    }
  }
  return node;
}

/** Equal as JSON scalars; "true" and true, "4" and 4 count as equal (the rule is the WFM's, the typing may differ). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const scalar = (x: unknown) => typeof x === "string" || typeof x === "number" || typeof x === "boolean";
  return scalar(a) && scalar(b) && String(a) === String(b);
}

function number(x: unknown): number | undefined {
  if (typeof x === "number" && Number.isFinite(x)) return x;
  if (typeof x === "string" && /^-?\d+(\.\d+)?$/.test(x.trim())) return Number(x);
  return undefined;
}

const and = (verdicts: Verdict[]): Verdict => (verdicts.includes(false) ? false : verdicts.includes("unknown") ? "unknown" : true);
const or = (verdicts: Verdict[]): Verdict => (verdicts.includes(true) ? true : verdicts.includes("unknown") ? "unknown" : false);

function evalExpression(expr: MatchExpression, value: unknown, resolveIn: (doc: unknown, key: string) => unknown): Verdict {
  const values = expr.values;
  switch (expr.operator) {
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "In":
      if (!values) return "unknown";
      if (value === undefined) return false;
      return Array.isArray(value) ? value.some((x) => values.some((v) => same(x, v))) : values.some((v) => same(value, v));
    case "NotIn":
      if (!values) return "unknown";
      if (value === undefined) return true;
      return Array.isArray(value) ? !value.some((x) => values.some((v) => same(x, v))) : !values.some((v) => same(value, v));
    case "Gt":
    case "Lt": {
      const bound = number(values?.[0]);
      if (bound === undefined) return "unknown";
      if (value === undefined) return false;
      const n = number(value);
      if (n === undefined) return "unknown";
      return expr.operator === "Gt" ? n > bound : n < bound;
    }
    case "ContainsAll":
    case "ContainsAny": {
      if (value === undefined) return false;
      if (!Array.isArray(value)) return "unknown";
      if (expr.itemSelector) {
        const item = expr.itemSelector;
        if (expr.operator === "ContainsAny") return or(value.map((el) => evalSelector(item, el, resolveIn)));
        // Each expression must be met by some element (the lenient reading of "contains all").
        return and(item.matchExpressions.map((e) => or(value.map((el) => evalExpression(e, resolveIn(el, e.key), resolveIn)))));
      }
      if (!values) return "unknown";
      const has = (v: unknown) => value.some((x) => same(x, v));
      return expr.operator === "ContainsAll" ? values.every(has) : values.some(has);
    }
    default:
      return "unknown";
  }
}

function evalSelector(selector: Selector, doc: unknown, resolveIn: (doc: unknown, key: string) => unknown): Verdict {
  return and(selector.matchExpressions.map((e) => evalExpression(e, resolveIn(doc, e.key), resolveIn)));
}

const labelOf = (labels: unknown, key: string): unknown =>
  labels !== null && typeof labels === "object" && Object.hasOwn(labels, key) ? (labels as Record<string, unknown>)[key] : undefined;

function show(value: unknown): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}

/** The first expression of a selector that is certainly unmet, described. */
function firstUnmet(selector: Selector, doc: unknown, resolve: (doc: unknown, key: string) => unknown): string | undefined {
  for (const e of selector.matchExpressions) {
    const value = resolve(doc, e.key);
    if (evalExpression(e, value, pointer) === false) {
      const wanted = e.values ? ` ${JSON.stringify(e.values)}` : e.itemSelector ? " (itemSelector)" : "";
      return `${e.key} ${e.operator}${wanted}, the device's is ${show(value)}`;
    }
  }
  return undefined;
}

function unmet(dep: Deployment, message: string): StatusError {
  return { code: "DEVICE_CONSTRAINT_UNMET", source: dep.name, message: `this device can never satisfy the deployment's deviceConstraints: ${message}` };
}

/** Why the deployment's capacity requirements can never be met here, or undefined. */
function capacityProblem(dep: Deployment, device: ConstraintDevice): StatusError | undefined {
  const cap = dep.deviceConstraints?.capacityRequirements;
  if (!cap) return undefined;
  const p = device.description.properties;
  if (cap.cpu && p.cpus && p.cpus.length > 0) {
    const { cores, architectures } = cap.cpu;
    // One entry must provide the cores (and the architecture): entries are never summed.
    const archOk = (arch: string | undefined) => !architectures || architectures.length === 0 || arch === undefined || architectures.includes(arch);
    if (!p.cpus.some((c) => c.cores >= cores && archOk(c.architecture))) {
      const anyArch = p.cpus.some((c) => archOk(c.architecture));
      if (!anyArch) {
        const have = [...new Set(p.cpus.map((c) => c.architecture))].join(", ");
        return unmet(dep, `capacityRequirements.cpu.architectures: needs one of ${architectures!.join(", ")}, the device is ${have}`);
      }
      const most = Math.max(...p.cpus.filter((c) => archOk(c.architecture)).map((c) => c.cores));
      return unmet(dep, `capacityRequirements.cpu.cores: needs ${cores} cores on one CPU, the device reports at most ${most}`);
    }
  }
  for (const what of ["memory", "storage"] as const) {
    const needed = cap[what];
    const have = sizeBytes(p[what]);
    if (needed && have !== undefined && needed.bytes > have) {
      return unmet(dep, `capacityRequirements.${what}: needs ${needed.text}, the device reports ${p[what]}`);
    }
  }
  return undefined;
}

/** Why no eligibility rule can ever hold here, or undefined (no rules, one holds, or one cannot be judged). */
function eligibilityProblem(dep: Deployment, device: ConstraintDevice): StatusError | undefined {
  const rules = dep.deviceConstraints?.eligibilityRules;
  if (!rules || rules.length === 0) return undefined;
  const { properties, labels } = device.description;
  const verdicts = rules.map((rule) =>
    and([
      rule.propertySelector ? evalSelector(rule.propertySelector, properties, pointer) : true,
      rule.labelSelector ? evalSelector(rule.labelSelector, labels, labelOf) : true,
    ]),
  );
  if (or(verdicts) !== false) return undefined;
  const reasons = rules.map((rule, i) => {
    const prop = rule.propertySelector ? firstUnmet(rule.propertySelector, properties, pointer) : undefined;
    if (prop) return `eligibilityRules[${i}].propertySelector: ${prop}`;
    const label = rule.labelSelector ? firstUnmet(rule.labelSelector, labels, labelOf) : undefined;
    return `eligibilityRules[${i}].labelSelector: ${label ?? "not met"}`;
  });
  return unmet(dep, reasons.join("; "));
}

/** Whether metadata.deviceId names this device ("id" exactly, or "parent/*" with this device a child of parent). */
export function targetsDevice(target: string, deviceId: string): boolean {
  if (target === deviceId) return true;
  if (target.endsWith("/*")) return deviceId.startsWith(`${target.slice(0, -1)}`) && deviceId.length > target.length - 1;
  return false;
}

/**
 * Why this deployment can never run on this device, or undefined:
 * DEPLOYMENT_OTHER_DEVICE when metadata.deviceId names another device,
 * DEVICE_CONSTRAINT_UNMET naming the constraint when deviceConstraints can
 * never be met. The result is the deployment-level error of a failed report.
 */
export function deploymentPlacementProblem(dep: Deployment, device: ConstraintDevice): StatusError | undefined {
  if (dep.deviceId !== undefined && !targetsDevice(dep.deviceId, device.deviceId)) {
    return {
      code: "DEPLOYMENT_OTHER_DEVICE",
      source: dep.name,
      message: `the deployment is for device ${dep.deviceId} (metadata.deviceId), this device is ${device.deviceId}; nothing is installed`,
    };
  }
  return capacityProblem(dep, device) ?? eligibilityProblem(dep, device);
}
