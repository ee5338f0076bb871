/**
 * The agent's configuration: one valibot schema, the single source of truth for
 * keys, defaults and types. Unknown keys are errors (a typo must not be silently
 * ignored on a device nobody watches).
 */
import * as v from "valibot";
import { DAYS, isValidTimeZone } from "../schedule/windows.ts";
import { parseDuration } from "../util/duration.ts";
import { parseSize } from "../util/size.ts";

const duration = (fallback: string) =>
  v.optional(
    v.pipe(
      v.union([v.string(), v.number()], "must be a duration such as 30s, 5m or 1h30m"),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const ms = parseDuration(dataset.value);
        if (ms === undefined) {
          addIssue({ message: "must be a duration such as 30s, 5m or 1h30m" });
          return NEVER;
        }
        return ms;
      }),
    ),
    fallback,
  );

const size = (fallback: string) =>
  v.optional(
    v.pipe(
      v.union([v.string(), v.number()], "must be a size such as 512KiB or 10MiB"),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const bytes = parseSize(dataset.value);
        if (bytes === undefined || bytes === 0) {
          addIssue({ message: "must be a size such as 512KiB or 10MiB" });
          return NEVER;
        }
        return bytes;
      }),
    ),
    fallback,
  );

const httpUrl = v.pipe(
  v.string("must be a URL"),
  v.check((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "https:" || u.protocol === "http:") && !u.username && !u.password;
    } catch {
      return false;
    }
  }, "must be an http(s) URL without credentials, e.g. https://wfm.example.com"),
);

const listen = v.pipe(
  v.string(),
  v.check(
    (s) => s.startsWith("unix:") || /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s),
    "must be HOST:PORT (e.g. 127.0.0.1:7480) or unix:/path/to.sock",
  ),
);

const timeWindow = v.strictObject({
  days: v.optional(v.array(v.picklist(DAYS, "must be one of sun, mon, tue, wed, thu, fri, sat")), []),
  start: v.pipe(v.string(), v.regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24 h)")),
  end: v.pipe(v.string(), v.regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24 h)")),
});

const nonEmpty = v.pipe(v.string(), v.minLength(1, "must not be empty"));
const deviceIdText = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, "must use only letters, digits and . _ ~ - (RFC 3986 unreserved)"),
);

export const ConfigSchema = v.strictObject({
  wfm: v.strictObject({
      url: httpUrl,
      caFile: v.optional(v.nullable(nonEmpty), null),
      /** Until onboarding lands: a clientId assigned out of band. */
      clientId: v.optional(v.nullable(v.pipe(nonEmpty, v.regex(/^[A-Za-z0-9._~-]+$/, "must be URL-safe"))), null),
      /** Plain http:// is refused unless this is true, and even then only towards a loopback WFM (the dev WFM). */
      allowInsecureHttp: v.optional(v.boolean(), false),
      requestTimeout: duration("30s"),
      /** With no caFile: fetch the WFM's root CA once, unverified, and trust it from then on (PROTOCOL.md §1.2). */
      trustOnFirstUse: v.optional(v.boolean(), false),
    }),
  dataDir: v.optional(nonEmpty, "/var/lib/margo-agent"),
  /** A provisioned device key and certificate (PEM); both null: generated in dataDir on first start. */
  identity: v.optional(
    v.strictObject({
      keyFile: v.optional(v.nullable(nonEmpty), null),
      certFile: v.optional(v.nullable(nonEmpty), null),
    }),
    {},
  ),
  runtime: v.optional(v.picklist(["auto", "podman", "compose", "simulated"], "must be one of auto, podman, compose, simulated"), "auto"),
  device: v.optional(
    v.strictObject({
      id: v.optional(v.nullable(deviceIdText), null),
      vendor: v.optional(nonEmpty, "unknown"),
      modelNumber: v.optional(nonEmpty, "unknown"),
      serialNumber: v.optional(v.nullable(nonEmpty), null),
    }),
    {},
  ),
  poll: v.optional(
    v.strictObject({
      interval: duration("30s"),
      /** Fraction of the interval added or removed at random so a fleet does not poll in lockstep. */
      jitter: v.optional(v.pipe(v.number("must be a number between 0 and 0.5"), v.minValue(0, "must be ≥ 0"), v.maxValue(0.5, "must be ≤ 0.5")), 0.1),
      /** The Margo "polling interval period": windows in which polling is allowed. Empty: always. */
      periods: v.optional(v.array(timeWindow), []),
    }),
    {},
  ),
  /** Known downtime: no polling, no report retries, and communication errors are not raised. */
  downtime: v.optional(
    v.strictObject({
      timeZone: v.optional(v.pipe(v.string(), v.check(isValidTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin")), "UTC"),
      windows: v.optional(v.array(timeWindow), []),
    }),
    {},
  ),
  reconcile: v.optional(
    v.strictObject({
      /** Restore the previous version of a deployment when its update fails. */
      rollback: v.optional(v.boolean(), true),
      /** How often the runtime is inspected for drift (containers stopped or removed outside the agent). */
      driftInterval: duration("60s"),
      /** Remove named volumes when a deployment is removed. */
      removeVolumes: v.optional(v.boolean(), false),
    }),
    {},
  ),
  packages: v.optional(
    v.strictObject({
      allowInsecureHttp: v.optional(v.boolean(), false),
      maxBytes: size("256MiB"),
      /** Free space kept on the data directory and engine storage; deployments fail early below it. */
      reserve: size("512MiB"),
    }),
    {},
  ),
  /** What compose files from the WFM may ask of the host. Secure by default. */
  policy: v.optional(
    v.strictObject({
      allowPrivileged: v.optional(v.boolean(), false),
      allowHostNamespaces: v.optional(v.boolean(), false),
      allowedBindPaths: v.optional(v.array(v.pipe(v.string(), v.check((p) => p.startsWith("/"), "must be an absolute path"))), []),
    }),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      manifestBytes: size("4MiB"),
      deploymentBytes: size("1MiB"),
      bundleBytes: size("64MiB"),
      bundleEntries: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1)), 10_000),
      bundleExpandedBytes: size("256MiB"),
    }),
    {},
  ),
  journal: v.optional(
    v.strictObject({
      /** Bound on undelivered reports; beyond it intermediate reports are compacted (latest and failed kept). */
      maxEntries: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(10, "must be ≥ 10")), 10_000),
      retryMax: duration("5m"),
    }),
    {},
  ),
  api: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      listen: v.optional(listen, "127.0.0.1:7480"),
      /** Bearer token; required when listening on a non-loopback address. */
      token: v.optional(v.nullable(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))), null),
    }),
    {},
  ),
  log: v.optional(
    v.strictObject({
      level: v.optional(v.picklist(["trace", "debug", "info", "warn", "error", "fatal", "silent"], "must be one of trace, debug, info, warn, error, fatal, silent"), "info"),
    }),
    {},
  ),
});

export type Config = v.InferOutput<typeof ConfigSchema>;
