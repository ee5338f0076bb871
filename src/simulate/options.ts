/**
 * `margo-agent simulate`'s flags, checked at the boundary (docs/simulate.md):
 * one valibot schema, each problem naming its flag.
 */
import * as v from "valibot";
import { parseDuration } from "../util/duration.ts";

const duration = (flag: string, min: number, max: number) =>
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const ms = parseDuration(dataset.value);
      if (ms === undefined || ms < min || ms > max) {
        addIssue({ message: `--${flag} ${dataset.value}: expected a duration from ${fmt(min)} to ${fmt(max)}, such as 30s or 5m` });
        return NEVER;
      }
      return ms;
    }),
  );

const number = (flag: string, min: number, max: number, integer = false) =>
  v.pipe(
    v.string(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const n = /^\d+(\.\d+)?$/.test(dataset.value) ? Number(dataset.value) : NaN;
      if (!(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
        addIssue({ message: `--${flag} ${dataset.value}: expected ${integer ? "a whole number" : "a number"} from ${min} to ${max}` });
        return NEVER;
      }
      return n;
    }),
  );

export const SimulateFlagsSchema = v.object({
  devices: v.pipe(v.string(), number("devices", 1, 100_000, true)),
  wfm: v.pipe(v.string(), v.regex(/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/, "--wfm: expected http(s)://HOST[:PORT][/PREFIX]")),
  profile: v.optional(v.picklist(["rc3", "v1"], "--profile: expected rc3 or v1"), "rc3"),
  duration: v.optional(duration("duration", 1000, 7 * 86_400_000)),
  interval: v.optional(duration("interval", 100, 86_400_000), "30s"),
  jitter: v.optional(number("jitter", 0, 0.5), "0.2"),
  ramp: v.optional(duration("ramp", 0, 86_400_000)),
  "apply-delay": v.optional(duration("apply-delay", 0, 600_000), "0s"),
  "failure-rate": v.optional(number("failure-rate", 0, 1), "0"),
  "report-every": v.optional(duration("report-every", 1000, 3_600_000), "5s"),
  svids: v.optional(v.string()),
  "dev-wfm-state": v.optional(v.string()),
  "work-dir": v.optional(v.string()),
  "ca-file": v.optional(v.string()),
  log: v.optional(v.string()),
  json: v.optional(v.boolean(), false),
});

export type SimulateFlags = v.InferOutput<typeof SimulateFlagsSchema>;

/** The flags, or the first problem as text. */
export function readSimulateFlags(values: Record<string, unknown>): SimulateFlags | { problem: string } {
  if (values.devices === undefined) return { problem: "--devices N is required" };
  if (values.wfm === undefined) return { problem: "--wfm URL is required" };
  const parsed = v.safeParse(SimulateFlagsSchema, values);
  if (!parsed.success) return { problem: parsed.issues[0]!.message };
  const f = parsed.output;
  if (f.svids && f["dev-wfm-state"]) return { problem: "--svids and --dev-wfm-state: give one (a folder of SVIDs, or the dev WFM state dir to mint them from)" };
  if (f.profile === "v1" && (f.svids || f["dev-wfm-state"])) return { problem: "--svids and --dev-wfm-state apply to --profile rc3 only" };
  if (f.profile === "rc3" && !f.wfm.startsWith("https://")) return { problem: `--wfm ${f.wfm}: rc3 is mutual TLS, expected https://` };
  return f;
}

function fmt(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
