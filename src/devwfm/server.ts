/**
 * The development WFM: a real Margo v1 WFM (PROTOCOL.md) whose desired state is
 * a folder of ApplicationDeployment YAMLs, for application developers and as
 * the peer in the agent's tests. createDevWfm builds the app; startDevWfm
 * serves it through the platform seam.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Hono, type Context } from "hono";
import { bunPlatform } from "../adapter/bun/index.ts";
import type { Logger } from "../log.ts";
import type { Platform } from "../platform/types.ts";
import { isDigest, sha256Digest } from "../protocol/digest.ts";
import { MANIFEST_MEDIA_TYPE } from "../protocol/manifest.ts";
import { authenticate } from "./auth.ts";
import { ClientRegistry, readClientCertificate, type ParsedClientCertificate } from "./clients.ts";
import { DesiredState, type Generation } from "./desired-state.ts";
import { describeFaults, FaultSyntaxError, mergeFaultJson } from "./faults.ts";
import { accepts, noneMatchHits } from "./negotiation.ts";
import { packageContentType, resolvePackagePath } from "./packages.ts";
import { renderPage } from "./page.ts";
import { buildManifestBody } from "./state-manifest.ts";
import { loadState, saveState } from "./state-file.ts";
import { statusReportProblem } from "./status-report.ts";
import type { DevCapabilities, DevReport, FaultMode, FaultSpec } from "./types.ts";

export interface DevWfmOptions {
  /** The folder of ApplicationDeployment YAMLs (and packages/). */
  dir: string;
  log: Logger;
  /** Default DIR/.dev-wfm/state.json. */
  stateFile?: string;
  /** Refuse unsigned requests (401). Default false. */
  requireSignatures?: boolean;
  /** "manual": onboarding answers 403 until the client is approved. Default "auto". */
  approve?: "auto" | "manual";
  faults?: FaultSpec;
  /** Served at GET /api/v1/onboarding/certificate; 404 when absent. */
  caCertificate?: Uint8Array;
  /**
   * What {{WFM_URL}} becomes. When unset, the origin of each request is used,
   * which changes the served bytes (and so bumps manifestVersion) if clients
   * use different host names: servers set it (startDevWfm does).
   */
  baseUrl?: string;
  /** Milliseconds since the epoch; default Date.now. Used for timestamps and the signature window. */
  now?: () => number;
}

export interface DevWfm {
  app: Hono;
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
  close(): void;
}

const IMMUTABLE = "public, max-age=31536000, immutable";

function problem(c: Context, status: number, title: string, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify({ type: "about:blank", title, status, detail, ...extra }), status as 400, {
    "Content-Type": "application/problem+json",
    ...headers,
  });
}

/** The response a fault switch asks for, or null to carry on normally. */
function faultResponse(c: Context, mode: FaultMode | undefined, route: string): Response | null {
  if (mode === undefined || mode === "ok") return null;
  if (mode === "down") {
    // Bun cannot close a socket from a handler; a body stream that fails before its
    // first byte makes Bun reset the connection before any status line is sent, so
    // the client sees a connection error (ECONNRESET), as with a WFM that went away.
    // Bun prints this error on stderr; that line is the trace that it was on purpose.
    return new Response(
      new ReadableStream({
        pull(controller) {
          controller.error(`dev WFM fault ${route}=down: connection dropped on purpose`);
        },
      }),
    );
  }
  const retryable = mode.code >= 500 || mode.code === 429;
  return problem(
    c,
    mode.code,
    `dev WFM fault ${route}=${mode.code}`,
    `the ${route} route is switched to answer ${mode.code} (PUT /api/dev/faults to change it)`,
    {
      retryable,
      ...(mode.retryAfter !== undefined ? { retryAfterSeconds: mode.retryAfter } : {}),
      backoffStrategy: retryable ? (mode.retryAfter !== undefined ? "fixed" : "exponential") : "none",
    },
    mode.retryAfter !== undefined ? { "Retry-After": String(mode.retryAfter) } : {},
  );
}

async function readJson(c: Context, copy = false): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const text = copy ? await c.req.raw.clone().text() : await c.req.text();
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `the body is not JSON: ${(err as Error).message}` };
  }
}

export function createDevWfm(opts: DevWfmOptions): DevWfm {
  const dir = path.resolve(opts.dir);
  const log = opts.log;
  const now = opts.now ?? Date.now;
  const stateFile = opts.stateFile ?? path.join(dir, ".dev-wfm", "state.json");
  const persisted = loadState(stateFile);
  const counter = { manifestVersion: persisted.manifestVersion, contentDigest: persisted.contentDigest };
  const persist = () => saveState(stateFile, { ...counter, clients: clients.all() });
  const clients = new ClientRegistry(persisted.clients, persist);
  const desired = new DesiredState(dir, counter, persist, now);
  let baseUrl = opts.baseUrl;
  let faults: FaultSpec = { ...opts.faults };
  let reports: DevReport[] = [];
  const capabilities: DevCapabilities[] = [];
  const iso = () => new Date(now()).toISOString();

  const refresh = (origin: string): Generation => {
    const before = desired.current()?.manifestVersion;
    const generation = desired.refresh(baseUrl ?? origin);
    if (generation.manifestVersion !== before) {
      log.info(
        { manifestVersion: generation.manifestVersion, deployments: generation.deployments.map((d) => d.id), skipped: generation.skipped },
        "desired state changed: new manifestVersion",
      );
      for (const s of generation.skipped) log.warn({ file: s.file, reason: s.reason }, "skipping a file that is not a servable ApplicationDeployment");
      for (const d of generation.deployments) if (d.warning) log.warn({ file: d.file, deploymentId: d.id, reason: d.warning }, "serving a deployment the agent will reject");
    }
    return generation;
  };
  const originOf = (c: Context) => new URL(c.req.url).origin;

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

  // ---------------------------------------------------------------- page

  app.get("/", (c) => {
    const generation = refresh(originOf(c));
    return c.html(
      renderPage({
        generation,
        dir,
        clients: clients.all(),
        reports,
        faults: describeFaults(faults),
        capabilityClients: capabilities.map((x) => x.clientId),
      }),
      200,
      { "Cache-Control": "no-store" },
    );
  });

  // ---------------------------------------------------------------- onboarding

  app.get("/api/v1/onboarding/certificate", (c) => {
    if (!opts.caCertificate) return problem(c, 404, "no root CA", "this dev WFM was started without --ca-cert");
    return c.json({ certificate: Buffer.from(opts.caCertificate).toString("base64") });
  });

  app.post("/api/v1/onboarding", async (c) => {
    // Read a copy: the signature check below needs the body too.
    const parsed = await readJson(c, true);
    const body = parsed.ok ? (parsed.value as Record<string, unknown> | null) : null;
    if (body === null || typeof body !== "object" || body.kind !== "OnboardingRequest" || typeof body.apiVersion !== "string" || typeof body.certificate !== "string") {
      return c.json({ error: "Invalid certificate" }, 400);
    }
    let cert: ParsedClientCertificate;
    try {
      cert = await readClientCertificate(body.certificate);
    } catch (err) {
      log.info({ reason: (err as Error).message }, "onboarding refused: invalid certificate");
      return c.json({ error: "Invalid certificate" }, 400);
    }
    const verdict = await authenticate(c.req.raw, {
      clients,
      requireSignatures: opts.requireSignatures ?? false,
      nowSeconds: Math.floor(now() / 1000),
      pathClientId: null,
      presentedCertificate: cert,
    });
    if (!verdict.ok) {
      log.info({ status: verdict.status, reason: verdict.reason }, "onboarding refused");
      return c.json({ error: verdict.status === 403 ? "Client rejected" : verdict.reason }, verdict.status);
    }
    const client = clients.onboard(cert, opts.approve !== "manual", iso());
    if (!client.approved) {
      log.info({ clientId: client.clientId }, "onboarding waits for approval (POST /api/dev/clients/{clientId}/approve or the page)");
      return c.json({ error: "Client rejected" }, 403);
    }
    log.info({ clientId: client.clientId, signed: verdict.signed }, "client onboarded");
    return c.json({ clientId: client.clientId }, 201);
  });

  // ---------------------------------------------------------------- per-client routes

  app.use("/api/v1/clients/:clientId/*", async (c, next) => {
    const verdict = await authenticate(c.req.raw, {
      clients,
      requireSignatures: opts.requireSignatures ?? false,
      nowSeconds: Math.floor(now() / 1000),
      pathClientId: c.req.param("clientId") ?? null,
    });
    if (!verdict.ok) {
      log.info({ method: c.req.method, path: c.req.path, status: verdict.status, reason: verdict.reason }, "request refused");
      return problem(c, verdict.status, verdict.status === 400 ? "bad Content-Digest" : verdict.status === 401 ? "bad signature" : "client not trusted", verdict.reason);
    }
    await next();
  });

  app.get("/api/v1/clients/:clientId/deployments", (c) => {
    const fault = faultResponse(c, faults.manifest, "manifest");
    if (fault) return fault;
    if (!accepts(c.req.header("accept") ?? null, MANIFEST_MEDIA_TYPE)) {
      return problem(c, 406, "not acceptable", `this WFM serves the state manifest only as ${MANIFEST_MEDIA_TYPE}`);
    }
    const generation = refresh(originOf(c));
    const body = buildManifestBody(c.req.param("clientId"), {
      manifestVersion: generation.manifestVersion,
      bundle: generation.bundle && { digest: generation.bundle.digest, sizeBytes: generation.bundle.bytes.length },
      deployments: generation.deployments.map((d) => ({ id: d.id, digest: d.digest, sizeBytes: d.bytes.length })),
    });
    const etag = `"${sha256Digest(body)}"`;
    const headers = { ETag: etag, "Cache-Control": "no-cache" };
    if (noneMatchHits(c.req.header("if-none-match") ?? null, etag)) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, "Content-Type": MANIFEST_MEDIA_TYPE });
  });

  app.get("/api/v1/clients/:clientId/deployments/:deploymentId/:digest", (c) => {
    const { deploymentId, digest } = c.req.param();
    const bytes = isDigest(digest) ? desired.deploymentYaml(deploymentId, digest) : undefined;
    if (!bytes) return problem(c, 404, "no such deployment content", `no kept generation has deployment ${deploymentId} with digest ${digest}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/yaml", "Cache-Control": IMMUTABLE, ETag: `"${digest}"` });
  });

  app.get("/api/v1/clients/:clientId/bundles/:digest", (c) => {
    const digest = c.req.param("digest");
    const bytes = isDigest(digest) ? desired.bundle(digest) : undefined;
    if (!bytes) return problem(c, 404, "no such bundle", `no kept generation has a bundle with digest ${digest}`);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "Content-Type": "application/vnd.margo.bundle.v1+tar+gzip",
      "Cache-Control": IMMUTABLE,
      ETag: `"${digest}"`,
    });
  });

  app.post("/api/v1/clients/:clientId/deployments/:deploymentId/status", async (c) => {
    const fault = faultResponse(c, faults.status, "status");
    if (fault) return fault;
    const { clientId, deploymentId } = c.req.param();
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 422, "invalid status report", parsed.reason);
    const why = statusReportProblem(parsed.value, deploymentId);
    if (why !== null) {
      log.info({ clientId, deploymentId, reason: why }, "status report refused (422)");
      return problem(c, 422, "invalid status report", why);
    }
    const report: DevReport = { index: reports.length, clientId, deploymentId, receivedAt: iso(), body: parsed.value };
    reports.push(report);
    const body = parsed.value as { status: { state: string; error?: unknown }; components: Array<{ name: string; state: string }> };
    log.info(
      { clientId, deploymentId, state: body.status.state, components: body.components.map((x) => `${x.name}=${x.state}`).join(","), error: body.status.error },
      "status report",
    );
    return c.json({ accepted: true }, 200);
  });

  const recordCapabilities = async (c: Context) => {
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 422, "invalid capabilities", parsed.reason);
    const value = parsed.value as Record<string, unknown> | null;
    if (value === null || typeof value !== "object" || value.kind !== "DeviceCapabilitiesManifest") {
      return problem(c, 422, "invalid capabilities", "kind: must be DeviceCapabilitiesManifest");
    }
    const entry: DevCapabilities = {
      clientId: c.req.param("clientId") ?? "",
      deviceId: c.req.param("deviceId") ?? null,
      method: c.req.method === "PUT" ? "PUT" : "POST",
      receivedAt: iso(),
      body: parsed.value,
    };
    capabilities.push(entry);
    log.info({ clientId: entry.clientId, deviceId: entry.deviceId, method: entry.method }, "capabilities received");
    return c.body(null, 201);
  };
  for (const route of ["/api/v1/clients/:clientId/capabilities", "/api/v1/clients/:clientId/capabilities/:deviceId"]) {
    app.post(route, recordCapabilities);
    app.put(route, recordCapabilities);
  }

  // ---------------------------------------------------------------- packages

  app.get("/packages/*", (c) => {
    const found = resolvePackagePath(path.join(dir, "packages"), new URL(c.req.url).pathname);
    if ("reason" in found) return problem(c, found.status, found.status === 400 ? "bad package path" : "no such package", found.reason);
    return c.body(readFileSync(found.file) as Uint8Array<ArrayBuffer>, 200, { "Content-Type": packageContentType(found.file), "Cache-Control": "no-cache" });
  });

  // ---------------------------------------------------------------- development API

  app.get("/api/dev/reports", (c) => {
    const clientId = c.req.query("clientId");
    const since = Number(c.req.query("since") ?? 0);
    if (!Number.isInteger(since) || since < 0) return problem(c, 400, "bad query", "since must be a non-negative integer index");
    return c.json(reports.filter((r) => r.index >= since && (clientId === undefined || r.clientId === clientId)));
  });
  app.delete("/api/dev/reports", (c) => {
    reports = [];
    return c.body(null, 204);
  });
  app.get("/api/dev/capabilities", (c) => c.json(capabilities));
  app.get("/api/dev/faults", (c) => c.json(describeFaults(faults)));
  app.put("/api/dev/faults", async (c) => {
    const parsed = await readJson(c);
    if (!parsed.ok) return problem(c, 400, "bad faults", parsed.reason);
    try {
      faults = mergeFaultJson(faults, parsed.value);
    } catch (err) {
      if (err instanceof FaultSyntaxError) return problem(c, 400, "bad faults", err.message);
      throw err;
    }
    log.info({ faults: describeFaults(faults) }, "fault switches changed");
    return c.json(describeFaults(faults));
  });
  app.get("/api/dev/clients", (c) => c.json(clients.all().map(({ certificate: _c, ...rest }) => rest)));
  app.post("/api/dev/clients/:clientId/approve", (c) => {
    const clientId = c.req.param("clientId");
    if (!clients.approve(clientId)) return problem(c, 404, "no such client", `no client ${clientId} has asked to onboard`);
    log.info({ clientId }, "client approved");
    // A browser posting the page's form goes back to the page.
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/", 303);
    return c.json({ clientId, approved: true });
  });

  app.notFound((c) => problem(c, 404, "not found", `${c.req.method} ${c.req.path} is not a route of the dev WFM`));

  return {
    app,
    fetch: async (req) => app.fetch(req),
    reports: () => [...reports],
    capabilities: () => [...capabilities],
    setFaults: (f) => {
      faults = { ...f };
    },
    faults: () => ({ ...faults }),
    setBaseUrl: (url) => {
      baseUrl = url.replace(/\/+$/, "");
    },
    refresh: () => refresh(baseUrl ?? "http://127.0.0.1"),
    approveClient: (clientId) => clients.approve(clientId),
    close: () => {},
  };
}

export interface StartedDevWfm extends DevWfm {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Splits HOST:PORT (IPv6 as [::1]:PORT). Throws naming the value when it is malformed. */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`);
  return { hostname: (m[1] ?? m[2])!, port };
}

function urlHost(hostname: string): string {
  // A wildcard address is not something a client can be told to connect to.
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

export async function startDevWfm(
  opts: DevWfmOptions & { listen: string; publicUrl?: string; platform?: Platform },
): Promise<StartedDevWfm> {
  const { hostname, port } = parseListen(opts.listen);
  const wfm = createDevWfm(opts);
  const platform = opts.platform ?? bunPlatform;
  const handle = platform.serve(wfm.fetch, { hostname, port });
  const url = (opts.publicUrl ?? `http://${urlHost(hostname)}:${handle.port}`).replace(/\/+$/, "");
  if (opts.baseUrl === undefined) wfm.setBaseUrl(url);
  try {
    wfm.refresh();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return {
    ...wfm,
    url,
    port: handle.port,
    stop: async () => {
      wfm.close();
      await handle.stop();
    },
  };
}
