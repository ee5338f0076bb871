/**
 * The agent's configuration: one valibot schema, the single source of truth for
 * keys, defaults and types. Unknown keys are errors (a typo must not be silently
 * ignored on a device nobody watches).
 */
import * as v from "valibot";
import { RegistriesConfigSchema } from "../oci/config.ts";
import { DAYS, isValidTimeZone } from "../schedule/windows.ts";
import { parseDuration } from "../util/duration.ts";
import { parseSize } from "../util/size.ts";
import { readListen } from "./listen.ts";

/**
 * Every duration has a floor and a ceiling: a 0s retry cap hammered a failing
 * WFM hundreds of times a second, and a 30d interval overflowed the timer and
 * polled continuously (src/util/timer.ts waits out any delay, but no setting
 * should need it). `off` lets 0 mean "disabled" where the key documents that.
 */
const duration = (fallback: string, bounds: { min: number; max: number; text: string; off?: boolean }) =>
  v.optional(
    v.pipe(
      v.union([v.string(), v.number()], "must be a duration such as 30s, 5m or 1h30m"),
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const ms = parseDuration(dataset.value);
        if (ms === undefined) {
          addIssue({ message: "must be a duration such as 30s, 5m or 1h30m" });
          return NEVER;
        }
        if (bounds.off && ms === 0) return 0;
        if (!(ms >= bounds.min && ms <= bounds.max)) {
          addIssue({ message: `must be ${bounds.off ? "0 (off) or " : ""}between ${bounds.text}` });
          return NEVER;
        }
        return ms;
      }),
    ),
    fallback,
  );

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

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

/**
 * The WFM base URL: every request path is appended to it, so it must be a bare
 * origin plus path. Credentials in it would be logged and sent everywhere; a
 * query or fragment would end up in the middle of every request URL.
 */
const wfmUrl = v.pipe(
  v.string("must be a URL"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const text = dataset.value;
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      addIssue({ message: "must be an http(s) URL, e.g. https://wfm.example.com" });
      return;
    }
    const authority = text.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, "").split(/[/?#]/)[0] ?? "";
    if (u.protocol !== "https:" && u.protocol !== "http:") addIssue({ message: "must be an http(s) URL, e.g. https://wfm.example.com" });
    else if (!u.hostname) addIssue({ message: "must name a host" });
    else if (u.username || u.password || authority.includes("@")) addIssue({ message: "must not carry credentials (user:password@); the device authenticates by its signature" });
    else if (text.includes("#")) addIssue({ message: "must not have a #fragment" });
    else if (text.includes("?")) addIssue({ message: "must not have a ?query: request paths are appended to it" });
  }),
);

const listen = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const t = readListen(dataset.value);
    if ("problem" in t) addIssue({ message: t.problem });
  }),
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
      url: wfmUrl,
      caFile: v.optional(v.nullable(nonEmpty), null),
      /** Until onboarding lands: a clientId assigned out of band. */
      clientId: v.optional(v.nullable(v.pipe(nonEmpty, v.regex(/^[A-Za-z0-9._~-]+$/, "must be URL-safe"))), null),
      /** Plain http:// is refused unless this is true, and even then only towards a loopback WFM (the dev WFM). */
      allowInsecureHttp: v.optional(v.boolean(), false),
      requestTimeout: duration("30s", { min: SECOND, max: HOUR, text: "1s and 1h" }),
      /** With no caFile: fetch the WFM's root CA once, unverified, and trust it from then on (docs/protocol.md §1.2). */
      trustOnFirstUse: v.optional(v.boolean(), false),
    }),
  dataDir: v.optional(nonEmpty, "/var/lib/margo-agent"),
  /** A provisioned device key and certificate (PEM); both null: generated in dataDir on first start. */
  identity: v.optional(
    v.strictObject({
      keyFile: v.optional(v.nullable(nonEmpty), null),
      certFile: v.optional(v.nullable(nonEmpty), null),
      /**
       * v1: when the WFM has refused this clientId (401/403) for this long with no
       * answer accepted in between, forget it and onboard again (a WFM restored
       * from a backup or reset no longer knows the client). 0: never.
       */
      reonboardAfter: duration("1h", { min: SECOND, max: 7 * DAY, text: "1s and 7d", off: true }),
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
      /** At least 100ms (src/agent/poll-schedule.ts never goes below it), at most 7 days. */
      interval: duration("30s", { min: 100, max: 7 * DAY, text: "100ms and 7d" }),
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
      driftInterval: duration("60s", { min: SECOND, max: 7 * DAY, text: "1s and 7d", off: true }),
      /** Remove named volumes when a deployment is removed. */
      removeVolumes: v.optional(v.boolean(), false),
    }),
    {},
  ),
  packages: v.optional(
    v.strictObject({
      allowInsecureHttp: v.optional(v.boolean(), false),
      maxBytes: size("256MiB"),
      /** Largest package once unpacked (sum of file sizes); a gzip bomb stops here. */
      maxExpandedBytes: size("256MiB"),
      /** Largest expansion (unpacked ÷ compressed bytes), judged after the first MiB. */
      maxRatio: v.optional(v.pipe(v.number(), v.minValue(1, "must be ≥ 1"), v.maxValue(100_000, "must be ≤ 100000")), 200),
      /** Most entries (files and directories) in a package archive. */
      maxEntries: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1), v.maxValue(1_000_000)), 1000),
      /** Free space kept on the data directory and engine storage; deployments fail early below it. */
      reserve: size("512MiB"),
    }),
    {},
  ),
  /** Registries for OCI packages (repository + revision): credentials, mirrors, CAs (src/oci/config.ts). */
  registries: RegistriesConfigSchema,
  /**
   * Update locks (README "Update locks"): a workload holding
   * dataDir/locks/<deploymentId>/updates.lock defers updates, removals and
   * restarts of its deployment, at most this long; `sync --force` overrides it.
   */
  updateLocks: v.optional(
    v.strictObject({
      maxDeferral: duration("1h", { min: SECOND, max: 7 * DAY, text: "1s and 7d" }),
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
      /** Largest expansion of the bundle (unpacked ÷ compressed bytes); templated bundles reach about 75. */
      bundleMaxRatio: v.optional(v.pipe(v.number(), v.minValue(1, "must be ≥ 1"), v.maxValue(100_000, "must be ≤ 100000")), 200),
    }),
    {},
  ),
  journal: v.optional(
    v.strictObject({
      /** Bound on undelivered reports; beyond it intermediate reports are compacted (latest and failed kept). */
      maxEntries: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(10, "must be ≥ 10")), 10_000),
      /** The longest wait between report attempts; attempts start 1s apart, so the cap is at least that. */
      retryMax: duration("5m", { min: SECOND, max: DAY, text: "1s and 1d" }),
    }),
    {},
  ),
  api: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      listen: v.optional(listen, "127.0.0.1:7480"),
      /** Bearer token; required when listening on a non-loopback address. */
      token: v.optional(
        v.nullable(
          v.pipe(
            v.string(),
            v.minLength(16, "must be at least 16 characters"),
            // It travels as `Authorization: Bearer <token>`: spaces would split it, and whitespace only is no secret.
            v.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces or control characters"),
          ),
        ),
        null,
      ),
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
