/**
 * `margo-agent dev-wfm`: a development WFM that serves a folder of
 * ApplicationDeployment YAMLs to any agent, shows what the agents report on a
 * page, and can be told to misbehave. Runs until SIGINT/SIGTERM.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { parse, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { FaultSyntaxError, parseFaultFlags, parseListen, startDevWfm, type FaultSpec } from "../../devwfm/index.ts";
import { createLogger } from "../../log.ts";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

const USAGE = `Usage: margo-agent dev-wfm --dir DIR [options]

Runs a development Workload Fleet Manager: every agent that asks (any clientId)
gets the ApplicationDeployment YAMLs found in DIR as its desired state.

  --dir DIR                folder of ApplicationDeployment YAMLs (top-level *.yaml / *.yml,
                           one deployment per file, id = metadata.annotations.id)
  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080; port 0 = any free port)
  --public-url URL         base URL agents reach this WFM at (default http://HOST:PORT);
                           needed when listening on 0.0.0.0 for other machines
  --state FILE             where manifestVersion and onboarded clients are kept
                           (default DIR/.dev-wfm/state.json)
  --require-signatures     refuse unsigned requests (401); by default a client that never
                           onboarded may send unsigned requests
  --approve auto|manual    onboarding approval (default auto); manual answers 403
                           "Client rejected" until approved on the page or with
                           POST /api/dev/clients/CLIENT_ID/approve
  --ca-cert FILE           root CA served at GET /api/v1/onboarding/certificate (else 404)
  --fault ROUTE=MODE       misbehave from the start (repeatable). ROUTE: status | manifest.
                           MODE: 503:5 (503 with Retry-After 5), 422, any 4xx/5xx code,
                           down (the connection is dropped without a response), ok.
                           Change at run time: PUT /api/dev/faults {"status":{"code":503,"retryAfter":5}}
  --log-level LEVEL        trace|debug|info|warn|error (default info; debug logs every request)
  -h, --help               this text

Desired state: DIR is rescanned on every manifest request; manifestVersion goes up by one
whenever the served YAMLs change (and never goes back, across restarts too).
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
  GET /api/dev/clients       onboarded clients

Logs: pino JSON on stdout, one line per status report (info) and per request (debug).`;

export const devWfmCommand: Command = {
  name: "dev-wfm",
  summary: "run a development WFM serving a folder of ApplicationDeployments",
  usage: USAGE,
  async run(argv) {
    const { values } = parse(argv, {
      dir: { type: "string" },
      listen: { type: "string" },
      "public-url": { type: "string" },
      state: { type: "string" },
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
    if (publicUrl !== undefined && !/^https?:\/\/[^/]+\/?$/.test(publicUrl)) {
      throw new UsageError(`--public-url ${publicUrl}: expected http(s)://HOST[:PORT] without a path`);
    }
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
    let wfm;
    try {
      wfm = await startDevWfm({
        dir: values.dir,
        log,
        listen,
        publicUrl,
        stateFile: values.state,
        requireSignatures: values["require-signatures"] ?? false,
        approve,
        faults,
        caCertificate,
      });
    } catch (err) {
      console.error(`margo-agent dev-wfm: ${(err as Error).message}`);
      return EXIT.FAILURE;
    }
    const generation = wfm.refresh();
    log.info(
      { url: wfm.url, dir: values.dir, manifestVersion: generation.manifestVersion, deployments: generation.deployments.length, skipped: generation.skipped.length },
      `dev WFM listening on ${wfm.url} (status page: ${wfm.url}/)`,
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
