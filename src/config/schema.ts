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
import { guardedRecord } from "../protocol/strict-keys.ts";
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

/** An https URL naming the Margo Identity Service (docs/identity-rc3.md, "Discovery"). */
const httpsUrl = v.pipe(
  v.string("must be an https URL"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    let u: URL;
    try {
      u = new URL(dataset.value);
    } catch {
      addIssue({ message: "must be an https URL, e.g. https://mis.example.com" });
      return;
    }
    if (u.protocol !== "https:") addIssue({ message: "must be an https URL (the trust bundle is never fetched over plain http)" });
    else if (u.username || u.password) addIssue({ message: "must not carry credentials (user:password@)" });
    else if (u.search || u.hash) addIssue({ message: "must not have a ?query or #fragment" });
  }),
);

/**
 * Operator-given device labels, reported with the rc3 capabilities and matched
 * by deployments' eligibility rules. Values as the rc.3 schema allows them: a
 * string, number, boolean, or a list of strings or of numbers.
 */
const labelValue = v.union(
  [v.string(), v.pipe(v.number(), v.finite()), v.boolean(), v.array(v.string()), v.array(v.pipe(v.number(), v.finite()))],
  "must be a string, number, boolean, or a list of strings or of numbers",
);
const labels = guardedRecord(v.pipe(v.string(), v.minLength(1, "a label key must not be empty"), v.maxLength(253, "a label key must be at most 253 characters")), labelValue);
const deviceIdText = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, "must use only letters, digits and . _ ~ - (RFC 3986 unreserved)"),
);

// --- GitOps desired-state source (docs/protocol.md, "GitOps source") ---------------

/**
 * The Git repository URL: https (or plain http to loopback with allowInsecureHttp)
 * or ssh (ssh://host/path or scp-like git@host:path). Credentials come only from
 * files (tokenFile, sshKeyFile), so a URL carrying user:password@ is refused: it
 * would reach logs, `ps` and every error message.
 */
const gitUrl = v.pipe(
  v.string("must be a URL"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const text = dataset.value;
    if (/[\s\x00-\x1f\x7f"'\\]/.test(text)) {
      addIssue({ message: "must not contain spaces, quotes, backslashes or control characters" });
      return;
    }
    if (/^[A-Za-z0-9_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9.-]*:(?!\/\/)/.test(text)) return; // scp-like ssh: git@host:fleet.git
    let u: URL;
    try {
      u = new URL(text);
    } catch {
      addIssue({ message: "must be an https:// or ssh:// URL, or git@host:path" });
      return;
    }
    if (!["https:", "http:", "ssh:"].includes(u.protocol)) addIssue({ message: "must be an https:// or ssh:// URL, or git@host:path (file://, git:// and ext:: are refused)" });
    else if (!u.hostname) addIssue({ message: "must name a host" });
    else if (u.hostname.startsWith("-") || u.username.startsWith("-")) addIssue({ message: "must not have a host or user starting with - (ssh would read it as an option)" });
    else if (u.password || (u.protocol !== "ssh:" && u.username)) addIssue({ message: "must not carry credentials; use git.tokenFile or git.sshKeyFile" });
    else if (text.includes("#") || text.includes("?")) addIssue({ message: "must not have a ?query or #fragment" });
  }),
);

/** A path inside the repository: relative, `/`-separated, no `.`/`..` segments; `{deviceId}` is replaced at start. */
const gitPath = v.pipe(
  v.string(),
  v.regex(/^(?:[A-Za-z0-9._~{}-]+)(?:\/[A-Za-z0-9._~{}-]+)*$/, "must be a relative path of letters, digits and . _ ~ - (and {deviceId}), separated by /"),
  v.check((p) => !p.split("/").some((seg) => seg === "." || seg === ".."), "must not contain . or .. segments"),
  v.check((p) => p.replaceAll("{deviceId}", "").match(/[{}]/) === null, "may use only the placeholder {deviceId}"),
);

/** A branch or tag name as git check-ref-format allows it, or a full refs/heads/… or refs/tags/… name. */
const gitRef = v.pipe(
  v.string(),
  v.regex(/^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)[A-Za-z0-9._\/-]+(?<![./])$/, "must be a branch or tag name (e.g. main, v1.2, refs/tags/v1.2)"),
  v.check((r) => !r.split("/").some((seg) => seg.startsWith(".") || seg.endsWith(".lock")), "must be a valid ref name"),
);

const GitSchema = v.strictObject({
  url: v.optional(v.nullable(gitUrl), null),
  /** Branch or tag; its tip is the desired state. */
  ref: v.optional(gitRef, "main"),
  /** This device's folder in the repository. */
  path: v.optional(gitPath, "devices/{deviceId}"),
  /** https: a file holding the token (or user:token), sent as basic auth from a 0600 config file, never argv or env. */
  tokenFile: v.optional(v.nullable(nonEmpty), null),
  /** ssh: the private key, and the known_hosts the server's host key must be in (StrictHostKeyChecking=yes). */
  sshKeyFile: v.optional(v.nullable(nonEmpty), null),
  knownHostsFile: v.optional(v.nullable(nonEmpty), null),
  /** https: extra CA certificates (PEM) for the Git server. null: the system store. */
  caFile: v.optional(v.nullable(nonEmpty), null),
  /** Plain http:// is refused unless this is true, and even then only towards a loopback host. */
  allowInsecureHttp: v.optional(v.boolean(), false),
  /** Accept a tip that does not descend from the last applied commit (force-push, rewritten history). */
  allowRewrite: v.optional(v.boolean(), false),
  /** Signed commits: the tip must carry a good signature by one of the keys in keysFile. */
  verify: v.optional(
    v.strictObject({
      mode: v.optional(v.picklist(["none", "gpg", "ssh"], "must be one of none, gpg, ssh"), "none"),
      /** gpg: ASCII-armored public keys; ssh: an allowed_signers file. */
      keysFile: v.optional(v.nullable(nonEmpty), null),
    }),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      /** Most bytes one sync may download (the pack of the tip, and of history searched for ancestry). */
      fetchBytes: size("64MiB"),
      /** Most entries in the device's folder. */
      files: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1), v.maxValue(100_000)), 1000),
      /** Longest one sync may take, all git commands together. */
      timeout: duration("2m", { min: SECOND, max: HOUR, text: "1s and 1h" }),
      /** Most commits searched back from the tip for the last applied commit. */
      historyDepth: v.optional(v.pipe(v.number(), v.integer("must be an integer"), v.minValue(1), v.maxValue(1_000_000)), 1000),
    }),
    {},
  ),
});

const DesiredStateSchema = v.strictObject({
  /** Where the desired state comes from: the WFM's REST API, or a Git repository (git.*). */
  source: v.optional(v.picklist(["wfm", "git"], "must be one of wfm, git"), "wfm"),
});

// --- end of the GitOps block ---------------------------------------------------------

export const ConfigSchema = v.strictObject({
  wfm: v.strictObject({
      /**
       * Which Margo profile the WFM speaks (docs/protocol.md, "Profiles"): rc3
       * (1.0.0-rc.3: mutual TLS with an X.509-SVID) or v1 (1.0.0-rc.2:
       * onboarding and signed requests).
       */
      profile: v.optional(v.picklist(["rc3", "v1"], "must be rc3 or v1"), "rc3"),
      url: wfmUrl,
      caFile: v.optional(v.nullable(nonEmpty), null),
      /** Until onboarding lands: a clientId assigned out of band. */
      clientId: v.optional(v.nullable(v.pipe(nonEmpty, v.regex(/^[A-Za-z0-9._~-]+$/, "must be URL-safe"))), null),
      /** Plain http:// is refused unless this is true, and even then only towards a loopback WFM (the dev WFM). */
      allowInsecureHttp: v.optional(v.boolean(), false),
      requestTimeout: duration("30s", { min: SECOND, max: HOUR, text: "1s and 1h" }),
      /** With no caFile: fetch the WFM's root CA once, unverified, and trust it from then on (docs/protocol.md §1.2). */
      trustOnFirstUse: v.optional(v.boolean(), false),
      /** rc3: the MIS whose /.well-known/margo names the SPIFFE trust bundle (instead of a fixed wfm.caFile). */
      trustDiscovery: v.optional(v.nullable(httpsUrl), null),
      /** rc3: extra CA certificate(s), PEM, the MIS's HTTPS certificate is verified with (beside the system store). */
      trustDiscoveryCaFile: v.optional(v.nullable(nonEmpty), null),
      /** rc3: how often the discovered bundle is refreshed when it carries no spiffe_refresh_hint. */
      trustBundleRefresh: duration("1h", { min: 60 * SECOND, max: DAY, text: "1m and 24h" }),
    }),
  dataDir: v.optional(nonEmpty, "/var/lib/margo-agent"),
  /** A provisioned device key and certificate (PEM); both null: generated in dataDir on first start. */
  identity: v.optional(
    v.strictObject({
      keyFile: v.optional(v.nullable(nonEmpty), null),
      certFile: v.optional(v.nullable(nonEmpty), null),
      /** rc3: how long before the SVID's notAfter the agent warns (SVID_EXPIRING). */
      expiryWarning: duration("7d", { min: 60 * SECOND, max: 365 * DAY, text: "1m and 365d" }),
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
      /** rc3: key/value labels reported with the capabilities (deployments' eligibility rules match them). */
      labels: v.optional(labels, {}),
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
  desiredState: v.optional(DesiredStateSchema, {}),
  git: v.optional(GitSchema, {}),
});

export type Config = v.InferOutput<typeof ConfigSchema>;
