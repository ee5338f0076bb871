/**
 * `margo-agent dev-wfm`: a development WFM that serves a folder of
 * ApplicationDeployment YAMLs to any agent, shows what the agents report on a
 * page, and can be told to misbehave. Runs until SIGINT/SIGTERM.
 * `margo-agent dev-wfm issue-svid` mints a client SVID for a device (rc3).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import {
  adoptLegacyState,
  DEV_WFM_PROFILES,
  defaultStateDir,
  FaultSyntaxError,
  issueClientFiles,
  loadOrCreateRc3Identity,
  parseFaultFlags,
  parseListen,
  resolveStatePaths,
  startDevWfm,
  type DevWfmProfile,
  type FaultSpec,
} from "../../devwfm/index.ts";
import { describeIssued, lastListening, recordListening } from "../../devwfm/rc3/device-config.ts";
import { createLogger } from "../../log.ts";
import { SpiffeIdError } from "../../trust/index.ts";
import { parseDuration } from "../../util/duration.ts";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

const USAGE = `Usage: margo-agent dev-wfm --dir DIR [options]
       margo-agent dev-wfm issue-svid --client NAME --out DIR [--state DIR] [--validity DURATION]

Runs a development Workload Fleet Manager: every agent that asks gets the
ApplicationDeployment YAMLs found in DIR as its desired state.

  --dir DIR                folder of ApplicationDeployment YAMLs (top-level *.yaml / *.yml,
                           one deployment per file, id = metadata.annotations.id or id)
  --profile rc3|v1         the Margo interface to speak (default rc3):
                           rc3  Margo 1.0.0-rc.3: HTTPS with the dev WFM's own SVID, mutual TLS
                                (clients need an SVID from issue-svid), /api/v1/deployments …
                           v1   Margo 1.0.0-rc.2: plain HTTP, onboarding, RFC 9421 signatures,
                                /api/v1/clients/{clientId}/…
  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080; port 0 = any free port)
  --public-url URL         base URL agents reach this WFM at (default https://HOST:PORT in rc3,
                           http://HOST:PORT in v1); needed when listening on 0.0.0.0
  --git DIR                also serve the folder as a Git repository at /git/fleet.git (kept in
                           DIR, committed on every change), for agents with desiredState.source: git
  --state DIR              where the dev WFM keeps what outlives it: manifestVersion, clients,
                           and in rc3 its trust domain, CA and issued SVIDs (default
                           \$XDG_STATE_HOME/margo-dev-wfm, else ~/.local/state/margo-dev-wfm).
                           Independent of --dir: restart on another folder and agents carry on.
  --log-level LEVEL        trace|debug|info|warn|error (default info; debug logs every request)
  --fault ROUTE=MODE       misbehave from the start (repeatable). ROUTE: status | manifest.
                           MODE: 503:5 (503 with Retry-After 5), 422, any 4xx/5xx code,
                           down (the connection is dropped without a response), ok.
                           Change at run time: PUT /api/dev/faults {"status":{"code":503,"retryAfter":5}}
  -h, --help               this text

rc3 only:
  --trust-domain TD        the development trust domain, on first start (default margo-dev.local)
  --wfm-id ID              this WFM's id, on first start (default dev-wfm): its SPIFFE ID is
                           spiffe://TD/margo/wfm/ID, its clients' spiffe://TD/margo/wfm/ID/client/NAME
  --bundle-refresh-hint D  spiffe_refresh_hint of the served SPIFFE bundle (default 5m)

v1 only:
  --require-signatures     refuse unsigned requests (401); by default a client that never
                           onboarded may send unsigned requests
  --approve auto|manual    onboarding approval (default auto); manual answers 403
                           "Client rejected" until approved on the page or with
                           POST /api/dev/clients/CLIENT_ID/approve
  --ca-cert FILE           root CA served at GET /api/v1/onboarding/certificate (else 404)

rc3 identity: on first start the dev WFM creates a development CA for its trust domain in
the state dir (ca/) and serves with its own WFM SVID (DNS localhost, IP 127.0.0.1). Margo routes
(/api/v1/…) need a client SVID of this WFM (mutual TLS); a connection without one, from
another CA or of another WFM gets 403 problem+json not-authorized. Without a client
certificate, the same port serves the discovery document (GET /.well-known/margo), the SPIFFE
bundle (GET /.well-known/spiffe/bundle.json), the page, /api/dev/* and /packages/*.

issue-svid: mints a client SVID for a device into --out DIR: svid.pem (certificate chain),
svid-key.pem (key, mode 0600) and bundle.pem (the CA), and prints the SPIFFE ID and the
config lines the device needs. NAME is the client id (letters, digits, '.', '-', '_').
--validity DURATION, default 90d.

Desired state: DIR is rescanned on every manifest request; manifestVersion goes up by one
whenever the served YAMLs change (and never goes back, across restarts too). In rc3 the YAMLs
are served in the rc3 shape (top-level id, spec.applicationId).
Files that do not parse, or have no id, are skipped and listed on the page with the reason.

Packages: files under DIR/packages/ are served at /packages/<path>. In a YAML, the token
{{WFM_URL}} is replaced by this WFM's base URL before serving (digests cover the replaced
bytes), so a component can say
    packageLocation: "{{WFM_URL}}/packages/web/compose.yaml"
whatever port the dev WFM runs on. After changing only a package, change the YAML too
(any byte; a comment will do) so that agents see a new manifestVersion and redeploy.

Pages and development API:
  GET /                      status page (auto-refreshes every 2 s)
  GET /api/dev/reports       every status report received [?clientId=ID][&since=INDEX]; DELETE clears
  GET /api/dev/capabilities  capabilities received
  GET|PUT /api/dev/faults    fault switches
  GET /api/dev/clients       clients (v1: onboarded; rc3: by SPIFFE ID, issued and seen)
  POST /api/dev/clients/NAME/retire|reinstate   rc3: end or restore a client relationship

Logs: pino JSON on stdout, one line per status report (info) and per request (debug).`;

/** The state dir the flags name, refusing a file (--state used to name state.json). */
function stateDirFrom(flag: string | undefined): string {
  const dir = path.resolve(flag ?? defaultStateDir());
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(`--state ${flag}: not a directory (--state names the state dir now; its state.json is inside it)`);
  }
  return dir;
}

async function issueSvid(argv: string[]): Promise<number> {
  const { values } = parse(argv, { client: { type: "string" }, out: { type: "string" }, state: { type: "string" }, validity: { type: "string" } });
  if (values.help) {
    console.log(USAGE);
    return EXIT.OK;
  }
  if (!values.client) throw new UsageError("issue-svid: --client NAME is required");
  if (!values.out) throw new UsageError("issue-svid: --out DIR is required");
  const validityMs = values.validity === undefined ? undefined : parseDuration(values.validity);
  if (validityMs === undefined && values.validity !== undefined) throw new UsageError(`--validity ${values.validity}: expected a duration such as 30d or 12h`);
  if (validityMs !== undefined && validityMs < 60_000) throw new UsageError(`--validity ${values.validity}: at least 1m`);
  const stateDir = stateDirFrom(values.state);
  try {
    const identity = await loadOrCreateRc3Identity(stateDir);
    const files = await issueClientFiles(identity, values.client, path.resolve(values.out), { validityMs });
    console.log(describeIssued(files, lastListening(stateDir)));
    return EXIT.OK;
  } catch (err) {
    if (err instanceof SpiffeIdError) throw new UsageError(`--client ${values.client}: ${err.message}`);
    console.error(`margo-agent dev-wfm issue-svid: ${(err as Error).message}`);
    return EXIT.FAILURE;
  }
}

export const devWfmCommand: Command = {
  name: "dev-wfm",
  summary: "run a development WFM serving a folder of ApplicationDeployments",
  usage: USAGE,
  async run(argv) {
    if (argv[0] === "issue-svid") return issueSvid(argv.slice(1));
    const { values } = parse(argv, {
      dir: { type: "string" },
      git: { type: "string" },
      profile: { type: "string" },
      listen: { type: "string" },
      "public-url": { type: "string" },
      state: { type: "string" },
      "trust-domain": { type: "string" },
      "wfm-id": { type: "string" },
      "bundle-refresh-hint": { type: "string" },
      "require-signatures": { type: "boolean" },
      approve: { type: "string" },
      "ca-cert": { type: "string" },
      fault: { type: "string", multiple: true },
      "log-level": { type: "string" },
    });
    if (values.help) {
      console.log(USAGE);
      return EXIT.OK;
    }
    if (!values.dir) throw new UsageError("--dir DIR is required");
    const profile = (values.profile ?? "rc3") as DevWfmProfile;
    if (!DEV_WFM_PROFILES.includes(profile)) throw new UsageError(`--profile ${values.profile}: expected rc3 or v1`);
    const only = (flags: string[], p: DevWfmProfile) => {
      for (const flag of flags) if ((values as Record<string, unknown>)[flag] !== undefined && profile !== p) throw new UsageError(`--${flag} applies to --profile ${p} only`);
    };
    only(["require-signatures", "approve", "ca-cert"], "v1");
    only(["trust-domain", "wfm-id", "bundle-refresh-hint"], "rc3");
    const listen = values.listen ?? "127.0.0.1:8080";
    try {
      parseListen(listen);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const approve = values.approve ?? "auto";
    if (approve !== "auto" && approve !== "manual") throw new UsageError(`--approve ${approve}: expected auto or manual`);
    const level = values["log-level"] ?? "info";
    if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level ${level}: expected one of ${LOG_LEVELS.join(", ")}`);
    let faults: FaultSpec;
    try {
      faults = parseFaultFlags(values.fault ?? []);
    } catch (err) {
      if (err instanceof FaultSyntaxError) throw new UsageError(err.message);
      throw err;
    }
    const publicUrl = values["public-url"];
    const urlForm = profile === "rc3" ? /^https:\/\/[^/]+\/?$/ : /^https?:\/\/[^/]+\/?$/;
    if (publicUrl !== undefined && !urlForm.test(publicUrl)) {
      throw new UsageError(`--public-url ${publicUrl}: expected ${profile === "rc3" ? "https" : "http(s)"}://HOST[:PORT] without a path`);
    }
    let refreshHintSeconds: number | undefined;
    if (values["bundle-refresh-hint"] !== undefined) {
      const ms = parseDuration(values["bundle-refresh-hint"]);
      if (ms === undefined || ms < 1000) throw new UsageError(`--bundle-refresh-hint ${values["bundle-refresh-hint"]}: expected a duration of at least 1s, e.g. 5m`);
      refreshHintSeconds = Math.round(ms / 1000);
    }
    const stateDir = stateDirFrom(values.state);
    if (!existsSync(values.dir) || !statSync(values.dir).isDirectory()) {
      console.error(`margo-agent dev-wfm: --dir ${values.dir}: no such directory`);
      return EXIT.CONFIG;
    }
    let caCertificate: Uint8Array | undefined;
    if (values["ca-cert"]) {
      try {
        caCertificate = readFileSync(values["ca-cert"]);
      } catch (err) {
        console.error(`margo-agent dev-wfm: --ca-cert ${values["ca-cert"]}: ${(err as Error).message}`);
        return EXIT.CONFIG;
      }
    }

    const log = createLogger(level).child({ component: "dev-wfm" });
    const adopted = adoptLegacyState(values.dir, resolveStatePaths({ dir: values.dir, stateDir }));
    if (adopted) log.info({ from: adopted, stateDir }, "state taken over from the folder's .dev-wfm/state.json (the state dir is now independent of --dir)");
    let wfm;
    try {
      wfm = await startDevWfm({
        dir: values.dir,
        gitDir: values.git,
        log,
        listen,
        publicUrl,
        profile,
        stateDir,
        rc3: { trustDomain: values["trust-domain"], wfmId: values["wfm-id"], bundleRefreshHintSeconds: refreshHintSeconds },
        requireSignatures: values["require-signatures"] ?? false,
        approve,
        faults,
        caCertificate,
      });
    } catch (err) {
      console.error(`margo-agent dev-wfm: ${(err as Error).message}`);
      return EXIT.FAILURE;
    }
    if (wfm.rc3) await recordListening(stateDir, wfm.url);
    const generation = wfm.refresh();
    log.info(
      {
        url: wfm.url,
        profile,
        dir: values.dir,
        stateDir,
        ...(wfm.rc3 ? { spiffeId: wfm.rc3.spiffeId, caFile: path.join(stateDir, "ca", "ca-cert.pem") } : {}),
        manifestVersion: generation.manifestVersion,
        deployments: generation.deployments.length,
        skipped: generation.skipped.length,
      },
      `dev WFM listening on ${wfm.url} (profile ${profile}; status page: ${wfm.url}/)`,
    );

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, "dev WFM stopping");
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
        resolve();
      };
      const onInt = () => stop("SIGINT");
      const onTerm = () => stop("SIGTERM");
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
    });
    await wfm.stop();
    return EXIT.OK;
  },
};
