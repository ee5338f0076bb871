/**
 * The development WFM: a real Margo WFM whose desired state is a folder of
 * ApplicationDeployment YAMLs, for application developers and as the peer in
 * the agent's tests. It speaks one profile per instance (src/devwfm/README.md):
 * rc3 (mutual TLS, routes without clientId) or v1 (onboarding, RFC 9421
 * signatures, /api/v1/clients/{clientId}/…). createDevWfm wires the routes
 * (one file per concern under routes/ and rc3/) to the shared state
 * (context.ts); start.ts serves it.
 */
import { Hono } from "hono";
import { createContext } from "./context.ts";
import type { Generation } from "./desired-state.ts";
import { problem } from "./http.ts";
import type { DevWfmOptions, DevWfmProfile } from "./options.ts";
import { registerRc3DesiredState } from "./rc3/desired-state-routes.ts";
import { registerRc3Guard } from "./rc3/guard.ts";
import { issueClientFiles, type IssuedFiles, type Rc3Identity } from "./rc3/identity.ts";
import { registerRc3Reports } from "./rc3/report-routes.ts";
import { registerTrustRoutes } from "./rc3/trust-routes.ts";
import { registerClientAuth } from "./routes/client-auth.ts";
import { registerDesiredState } from "./routes/desired-state.ts";
import { registerDevApi } from "./routes/dev-api.ts";
import { registerOnboarding } from "./routes/onboarding.ts";
import { registerOciRegistry } from "./routes/oci-registry.ts";
import { registerGitRepo } from "./git-repo.ts";
import { registerPackages } from "./routes/packages.ts";
import { registerPage } from "./routes/page.ts";
import { registerReports } from "./routes/reports.ts";
import type { DevCapabilities, DevReport, FaultSpec, RefusedConnection, SeenClient } from "./types.ts";

/** What an rc3 dev WFM offers its embedders (tests, the CLI) beyond the HTTP interface. */
export interface DevWfmRc3 {
  readonly identity: Rc3Identity;
  /** spiffe://<td>/margo/wfm/<wfm-id> */
  readonly spiffeId: string;
  /** The trust anchor (PEM): what wfm.caFile may name. */
  readonly anchorPem: string;
  /** Mints a client SVID into outDir (svid.pem, svid-key.pem 0600, bundle.pem), as `dev-wfm issue-svid` does. */
  issueClient(clientId: string, outDir: string, opts?: { validityMs?: number }): Promise<IssuedFiles>;
  seen(): SeenClient[];
  refused(): RefusedConnection[];
  /** A retired client gets 403 not-authorized (false: reinstated). */
  setRetired(clientId: string, retired: boolean): void;
  /** Records a connection refused below HTTP (a failed handshake), for the page. */
  noteRefusal(r: Omit<RefusedConnection, "at" | "count">): void;
}

export interface DevWfm {
  app: Hono;
  profile: DevWfmProfile;
  fetch: (req: Request) => Promise<Response>;
  /** Every accepted status report, in arrival order. */
  reports(): DevReport[];
  capabilities(): DevCapabilities[];
  setFaults(f: FaultSpec): void;
  faults(): FaultSpec;
  setBaseUrl(url: string): void;
  /** Scans the folder now (bumping manifestVersion if it changed) and returns the current generation. */
  refresh(): Generation;
  approveClient(clientId: string): boolean;
  /** Present exactly when profile is rc3. */
  rc3: DevWfmRc3 | undefined;
  close(): void;
}

/** `identity` is required for profile rc3 (startDevWfm loads it from the state dir). */
export function createDevWfm(opts: DevWfmOptions, identity?: Rc3Identity): DevWfm {
  const ctx = createContext(opts, identity);
  const { log } = ctx;
  const app = new Hono();

  app.onError((err, c) => {
    log.error({ err, method: c.req.method, path: c.req.path }, "dev WFM internal error");
    return problem(c, 500, "internal error", err.message);
  });

  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    log.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, "request");
  });

  // Hono runs handlers in the order they were added: the identity checks must
  // come before the per-client routes they guard.
  registerPage(app, ctx);
  if (ctx.rc3) {
    registerTrustRoutes(app, ctx);
    registerRc3Guard(app, ctx);
    registerRc3DesiredState(app, ctx);
    registerRc3Reports(app, ctx);
  } else {
    registerOnboarding(app, ctx);
    registerClientAuth(app, ctx);
    registerDesiredState(app, ctx);
    registerReports(app, ctx);
  }
  // GitOps (docs/protocol.md, "GitOps source"): the same folder as a Git repository agents can follow.
  if (opts.gitDir) registerGitRepo(app, { dir: opts.gitDir, current: () => ctx.refresh(ctx.baseUrl ?? "http://127.0.0.1"), log });
  registerPackages(app, ctx);
  registerOciRegistry(app, ctx);
  registerDevApi(app, ctx);

  app.notFound((c) => problem(c, 404, "not found", `${c.req.method} ${c.req.path} is not a route of the dev WFM (profile ${ctx.profile})`));

  const rc3 = ctx.rc3;
  return {
    app,
    profile: ctx.profile,
    fetch: async (req) => app.fetch(req),
    reports: () => [...ctx.reports],
    capabilities: () => [...ctx.capabilities],
    setFaults: (f) => {
      ctx.faults = { ...f };
    },
    faults: () => ({ ...ctx.faults }),
    setBaseUrl: (url) => {
      ctx.baseUrl = url.replace(/\/+$/, "");
    },
    refresh: () => ctx.refresh(ctx.baseUrl ?? "http://127.0.0.1"),
    approveClient: (clientId) => ctx.clients.approve(clientId),
    rc3: rc3 && {
      identity: rc3.identity,
      spiffeId: rc3.identity.wfm.id,
      anchorPem: rc3.identity.ca.anchorPem,
      issueClient: (clientId, outDir, o) => issueClientFiles(rc3.identity, clientId, outDir, o),
      seen: () => [...rc3.seen.values()],
      refused: () => [...rc3.refused],
      setRetired: (clientId, retired) => {
        const id = `spiffe://${rc3.identity.trustDomain}/margo/wfm/${rc3.identity.wfmId}/client/${clientId}`;
        if (retired) rc3.retired.add(id);
        else rc3.retired.delete(id);
        rc3.persist();
      },
      noteRefusal: (r) => rc3.recordRefusal(r),
    },
    close: () => {},
  };
}
