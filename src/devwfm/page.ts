/**
 * The status page at GET /: one self-contained HTML document (no scripts, no
 * external assets) that refreshes itself every 2 s. Everything printed goes
 * through `esc`, because report bodies and file names come from outside.
 *
 * Layout: tables take the page's width with fixed column shares and every
 * cell wraps anywhere (UUIDs, SPIFFE IDs and error messages have no spaces to
 * break at), so nothing runs off the right edge at 1200 px
 * (test/integration/devwfm/rc3-page-browser.test.ts checks it in Chromium).
 */
import type { DeploymentLabel, Generation } from "./desired-state.ts";
import type { IssuedClient } from "./rc3/identity.ts";
import type { DevClient, DevReport, FaultMode, FaultRoute, RefusedConnection, SeenClient } from "./types.ts";

export function esc(value: unknown): string {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

export interface Rc3PageModel {
  trustDomain: string;
  wfmSpiffeId: string;
  bundleSequence: number;
  refreshHintSeconds: number;
  discoveryUrl: string;
  issued: IssuedClient[];
  seen: SeenClient[];
  retired: string[];
  refused: RefusedConnection[];
}

export interface PageModel {
  generation: Generation | undefined;
  dir: string;
  stateDir?: string;
  /** v1: onboarded clients. rc3: empty (clients are SPIFFE IDs, in `rc3`). */
  clients: DevClient[];
  reports: readonly DevReport[];
  faults: Record<FaultRoute, FaultMode>;
  capabilityClients: string[];
  /** Name and application id of a deployment id, if this WFM served it. */
  label?: (deploymentId: string) => DeploymentLabel | undefined;
  rc3?: Rc3PageModel;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
}

interface LatestState {
  state: string;
  components: Array<{ name?: unknown; state?: unknown; error?: ErrorLike }>;
  error: ErrorLike | undefined;
  receivedAt: string;
  adoptedManifestVersion: unknown;
  /** The last failure since the deployment was last installed or removed: shown while it is retried. */
  lastFailure: { error: ErrorLike | undefined; componentErrors: string[]; at: string } | undefined;
}

function componentErrors(components: LatestState["components"]): string[] {
  return components.filter((c) => c.error && (c.error.code || c.error.message)).map((c) => `${String(c.name ?? "")}: ${String(c.error!.code ?? "")} ${String(c.error!.message ?? "")}`.trim());
}

/** The last report per client and deployment, and the failure a retry is working on. */
function latestStates(reports: readonly DevReport[]): Map<string, Map<string, LatestState>> {
  const out = new Map<string, Map<string, LatestState>>();
  for (const r of reports) {
    const body = r.body as { status?: { state?: unknown; error?: ErrorLike }; components?: unknown; adoptedManifestVersion?: unknown };
    let perClient = out.get(r.clientId);
    if (!perClient) out.set(r.clientId, (perClient = new Map()));
    const previous = perClient.get(r.deploymentId);
    const state = String(body.status?.state ?? "");
    const components = Array.isArray(body.components) ? (body.components as LatestState["components"]) : [];
    let lastFailure = previous?.lastFailure;
    if (state === "failed") lastFailure = { error: body.status?.error, componentErrors: componentErrors(components), at: r.receivedAt };
    else if (state === "installed" || state === "removed") lastFailure = undefined;
    perClient.set(r.deploymentId, { state, components, error: body.status?.error, receivedAt: r.receivedAt, adoptedManifestVersion: body.adoptedManifestVersion, lastFailure });
  }
  return out;
}

function errorText(error: ErrorLike | undefined): string {
  if (!error || (!error.code && !error.message)) return "";
  return `<span class="err">${esc(error.code)}</span> ${esc(error.message)}`;
}

function faultText(mode: FaultMode): string {
  if (typeof mode === "string") return mode;
  return mode.retryAfter === undefined ? String(mode.code) : `${mode.code} (Retry-After ${mode.retryAfter})`;
}

function deploymentCell(id: string, label: DeploymentLabel | undefined): string {
  const name = label?.name ? `<b>${esc(label.name)}</b>` : `<i>unnamed</i>`;
  const app = label?.applicationId ? `<br><span class="dim">app</span> <code>${esc(label.applicationId)}</code>` : "";
  return `${name}${app}<br><span class="dim">id</span> <code>${esc(id)}</code>`;
}

function errorCell(s: LatestState): string {
  if (s.state === "failed") return errorText(s.error) || s.lastFailure?.componentErrors.map(esc).join("<br>") || "";
  if (s.lastFailure) {
    const detail = errorText(s.lastFailure.error) || s.lastFailure.componentErrors.map(esc).join("<br>");
    return `<span class="warn">retrying; failed at ${esc(s.lastFailure.at)}:</span> ${detail}`;
  }
  return "";
}

function clientTable(id: string, heading: string, perDeployment: Map<string, LatestState> | undefined, label: PageModel["label"]): string {
  const rows = perDeployment
    ? [...perDeployment.entries()]
        .map(
          ([deploymentId, s]) =>
            `<tr><td>${deploymentCell(deploymentId, label?.(deploymentId))}</td><td class="state ${esc(s.state)}">${esc(s.state)}</td><td>${s.components
              .map((c) => `${esc(c.name)}: <span class="state ${esc(c.state)}">${esc(c.state)}</span> ${errorText(c.error)}`)
              .join("<br>")}</td><td>${errorCell(s)}</td><td>${esc(s.adoptedManifestVersion)}</td><td>${esc(s.receivedAt)}</td></tr>`,
        )
        .join("")
    : `<tr><td colspan="6">no status reports yet</td></tr>`;
  return `<h3>${heading} <code>${esc(id)}</code></h3><table class="client"><colgroup><col style="width:25%"><col style="width:9%"><col style="width:22%"><col style="width:25%"><col style="width:8%"><col style="width:11%"></colgroup><tr><th>deployment</th><th>state</th><th>components</th><th>error</th><th>version</th><th>received</th></tr>${rows}</table>`;
}

function rc3Section(r: Rc3PageModel): string {
  const ids = [...new Set([...r.issued.map((i) => i.spiffeId), ...r.seen.map((s) => s.spiffeId), ...r.retired])].sort();
  const rows = ids
    .map((id) => {
      const issued = r.issued.find((i) => i.spiffeId === id);
      const seen = r.seen.find((s) => s.spiffeId === id);
      const retired = r.retired.includes(id);
      const clientId = id.slice(id.lastIndexOf("/") + 1);
      const action = retired ? "reinstate" : "retire";
      return `<tr><td><code>${esc(id)}</code></td><td>${issued ? `${esc(issued.issuedAt)}<br><span class="dim">until</span> ${esc(issued.notAfter)}` : "–"}</td><td>${seen ? `${esc(seen.lastSeen)} (${esc(seen.requests)} requests, ${esc(seen.tlsVersion)})` : "never"}</td><td>${retired ? `<span class="err">retired</span>` : "active"} <form method="post" action="/api/dev/clients/${esc(encodeURIComponent(clientId))}/${action}"><button>${action}</button></form></td></tr>`;
    })
    .join("");
  const refused = r.refused
    .map((x) => `<tr><td>${esc(x.at)}${x.count > 1 ? ` (×${esc(x.count)})` : ""}</td><td>${esc(x.address)}</td><td><code>${esc(x.spiffeId ?? "–")}</code></td><td>${esc(x.reason)}</td></tr>`)
    .join("");
  return `<h2>Identity (rc3)</h2>
<p>WFM <code>${esc(r.wfmSpiffeId)}</code> · trust domain <code>${esc(r.trustDomain)}</code> · bundle sequence <b>${esc(r.bundleSequence)}</b>, refresh hint ${esc(r.refreshHintSeconds)} s · discovery <code>${esc(r.discoveryUrl)}</code></p>
<h2>Clients (SPIFFE IDs)</h2>
${rows ? `<table><colgroup><col style="width:42%"><col style="width:20%"><col style="width:22%"><col style="width:16%"></colgroup><tr><th>SPIFFE ID</th><th>SVID issued</th><th>last request</th><th>relationship</th></tr>${rows}</table>` : "<p>none yet: <code>margo-agent dev-wfm issue-svid --client NAME --out DIR</code> mints one</p>"}
<h2>Refused connections</h2>
${refused ? `<table><colgroup><col style="width:18%"><col style="width:12%"><col style="width:30%"><col style="width:40%"></colgroup><tr><th>when</th><th>from</th><th>SPIFFE ID presented</th><th>why</th></tr>${refused}</table>` : "<p>none</p>"}`;
}

export function renderPage(m: PageModel): string {
  const g = m.generation;
  const pending = m.clients.filter((c) => !c.approved);
  const states = latestStates(m.reports);
  const known = m.rc3 ? [...m.rc3.issued.map((i) => i.spiffeId), ...m.rc3.seen.map((s) => s.spiffeId)] : m.clients.filter((c) => c.approved).map((c) => c.clientId);
  const clientIds = [...new Set([...known, ...states.keys(), ...m.capabilityClients])].sort();

  const files = g
    ? g.deployments
        .map(
          (d) =>
            `<tr><td>${esc(d.file)}</td><td>${deploymentCell(d.id, d)}</td><td><code>${esc(d.digest.slice(0, 19))}…</code></td><td>${d.warning ? `<span class="warn">the agent will reject it: ${esc(d.warning)}</span>` : "ok"}</td></tr>`,
        )
        .join("")
    : "";
  const skipped = g ? g.skipped.map((s) => `<tr><td>${esc(s.file)}</td><td colspan="3" class="err">skipped: ${esc(s.reason)}</td></tr>`).join("") : "";

  const clientSections = clientIds.map((id) => clientTable(id, "client", states.get(id), m.label)).join("");

  const approvals = pending
    .map(
      (c) =>
        `<li><code>${esc(c.clientId)}</code> (certificate ${esc((c.thumbprint ?? "").slice(0, 16))}…, since ${esc(c.onboardedAt)}) <form method="post" action="/api/dev/clients/${esc(encodeURIComponent(c.clientId))}/approve"><button>approve</button></form></li>`,
    )
    .join("");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><meta name="viewport" content="width=device-width"><title>margo-agent dev WFM</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;overflow-wrap:anywhere}table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%;table-layout:fixed}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f3f3}code{font-size:12px}.dim{color:#777;font-size:12px}.err{color:#b00}.warn{color:#a60}.state.installed{color:#070}.state.failed{color:#b00}.state.installing,.state.pending{color:#a60}.state.removed,.state.removing{color:#555}form{display:inline}li{margin:.3em 0}</style>
</head><body>
<h1>margo-agent dev WFM</h1>
<p>Profile <b>${m.rc3 ? "rc3" : "v1"}</b> · folder <code>${esc(m.dir)}</code>${m.stateDir ? ` · state <code>${esc(m.stateDir)}</code>` : ""} · manifestVersion <b>${esc(g?.manifestVersion ?? "–")}</b> since ${esc(g?.since ?? "–")} · ${g ? g.deployments.length : 0} deployment(s)${g?.bundle ? ` · bundle <code>${esc(g.bundle.digest.slice(0, 19))}…</code>` : ""}</p>
<p>Faults: ${Object.entries(m.faults).map(([route, mode]) => `${esc(route)}=<b>${esc(faultText(mode))}</b>`).join(" · ")}</p>
<h2>Files</h2>
<table><colgroup><col style="width:20%"><col style="width:40%"><col style="width:15%"><col style="width:25%"></colgroup><tr><th>file</th><th>deployment</th><th>digest</th><th>check</th></tr>${files}${skipped}${files || skipped ? "" : `<tr><td colspan="4">no *.yaml files</td></tr>`}</table>
${m.rc3 ? rc3Section(m.rc3) : `<h2>Pending approvals</h2>\n${approvals ? `<ul>${approvals}</ul>` : "<p>none</p>"}`}
<h2>Deployments per client</h2>
${clientSections || "<p>no client has reported yet</p>"}
</body></html>
`;
}
