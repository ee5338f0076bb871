/**
 * A small real WFM for the onboarding and capabilities routes (docs/protocol.md §1–3),
 * on 127.0.0.1 with port 0. It verifies every signed request with verifyRequest
 * the way a WFM must: before onboarding the keyid is the thumbprint of the
 * certificate in the body, afterwards the clientId it assigned.
 */
import { verifyRequest } from "../../../src/http-signatures/index.ts";
import { certificateDer, certificateThumbprint, publicKeyFromCertificate } from "../../../src/identity/index.ts";

export interface Recorded {
  method: string;
  path: string;
  keyId?: string;
  body?: unknown;
}

export interface FakeWfmOptions {
  /** Answer 403 to this many onboarding requests before approving. */
  pendingFor?: number;
  /** Replaces the onboarding verdict after signature verification (400, 401 with a skewed Date, …). */
  onboardingOverride?: () => Response | undefined;
  /** "client": only the markdown form /clients/{id}/capabilities exists (rc.2 form answers 404). */
  capabilitiesForm?: "device" | "client";
  /** Served on GET /api/v1/onboarding/certificate. */
  rootCa?: string;
  /** Answer onboarding with snake_case client_id. */
  snakeCase?: boolean;
}

export interface FakeWfm {
  url: string;
  requests: Recorded[];
  /** Capabilities requests that reached the handler (signature verified). */
  capabilities: Recorded[];
  rejected: { path: string; status: number; reason: string }[];
  approve(): void;
  stop(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export function startFakeWfm(opts: FakeWfmOptions = {}): FakeWfm {
  let pending = opts.pendingFor ?? 0;
  const clients = new Map<string, string>(); // clientId → certificate (base64 DER)
  const requests: Recorded[] = [];
  const capabilities: Recorded[] = [];
  const rejected: FakeWfm["rejected"] = [];
  const form = opts.capabilitiesForm ?? "device";

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      const text = await req.clone().text();
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      const record: Recorded = { method: req.method, path, body };
      requests.push(record);

      if (req.method === "GET" && path === "/api/v1/onboarding/certificate") {
        return opts.rootCa ? json(200, { certificate: opts.rootCa }) : json(404, { error: "no root CA" });
      }

      if (req.method === "POST" && path === "/api/v1/onboarding") {
        const cert = String(body?.certificate ?? "");
        const thumbprint = await certificateThumbprint(certificateDer(cert));
        const verdict = await verifyRequest(req, async (keyId) => (keyId === thumbprint ? publicKeyFromCertificate(cert) : null));
        if (!verdict.ok) {
          rejected.push({ path, status: verdict.status, reason: verdict.reason });
          return json(verdict.status, { error: verdict.reason });
        }
        record.keyId = verdict.keyId;
        const override = opts.onboardingOverride?.();
        if (override) return override;
        if (pending > 0) {
          pending--;
          return json(403, { error: "Client rejected" });
        }
        const existing = [...clients].find(([, c]) => c === cert)?.[0];
        const clientId = existing ?? `client-${clients.size + 1}`;
        clients.set(clientId, cert);
        return json(201, opts.snakeCase ? { client_id: clientId } : { clientId });
      }

      const m = /^\/api\/v1\/clients\/([^/]+)\/capabilities(\/.+)?$/.exec(path);
      if (m && (req.method === "POST" || req.method === "PUT")) {
        const clientId = decodeURIComponent(m[1]!);
        const verdict = await verifyRequest(req, async (keyId) => {
          const cert = keyId === clientId ? clients.get(keyId) : undefined;
          return cert ? publicKeyFromCertificate(cert) : null;
        });
        if (!verdict.ok) {
          rejected.push({ path, status: verdict.status, reason: verdict.reason });
          return json(verdict.status, { error: verdict.reason });
        }
        record.keyId = verdict.keyId;
        const isDeviceForm = m[2] !== undefined;
        if ((form === "device") !== isDeviceForm) return json(404, { error: "no such route" });
        capabilities.push(record);
        return new Response(null, { status: 201 });
      }
      return json(404, { error: `no route ${req.method} ${path}` });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    capabilities,
    rejected,
    approve: () => {
      pending = 0;
    },
    stop: async () => {
      await server.stop(true);
    },
  };
}
