/**
 * The status page at GET /: one self-contained HTML document (no scripts, no
 * external assets) that refreshes itself every 2 s. Everything printed goes
 * through `esc`, because report bodies and file names come from outside.
 */
import type { Generation } from "./desired-state.ts";
import type { DevClient, DevReport, FaultMode, FaultRoute } from "./types.ts";

export function esc(value: unknown): string {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

export interface PageModel {
  generation: Generation | undefined;
  dir: string;
  clients: DevClient[];
  reports: readonly DevReport[];
  faults: Record<FaultRoute, FaultMode>;
  capabilityClients: string[];
}

interface LatestState {
  state: string;
  components: Array<{ name?: unknown; state?: unknown; error?: { code?: unknown; message?: unknown } }>;
  error: { code?: unknown; message?: unknown } | undefined;
  receivedAt: string;
  adoptedManifestVersion: unknown;
}

/** The last report per client and deployment. */
function latestStates(reports: readonly DevReport[]): Map<string, Map<string, LatestState>> {
  const out = new Map<string, Map<string, LatestState>>();
  for (const r of reports) {
    const body = r.body as { status?: { state?: unknown; error?: LatestState["error"] }; components?: unknown; adoptedManifestVersion?: unknown };
    let perClient = out.get(r.clientId);
    if (!perClient) out.set(r.clientId, (perClient = new Map()));
    perClient.set(r.deploymentId, {
      state: String(body.status?.state ?? ""),
      components: Array.isArray(body.components) ? body.components : [],
      error: body.status?.error,
      receivedAt: r.receivedAt,
      adoptedManifestVersion: body.adoptedManifestVersion,
    });
  }
  return out;
}

function errorText(error: { code?: unknown; message?: unknown } | undefined): string {
  if (!error) return "";
  return `<span class="err">${esc(error.code)}</span> ${esc(error.message)}`;
}

function faultText(mode: FaultMode): string {
  if (typeof mode === "string") return mode;
  return mode.retryAfter === undefined ? String(mode.code) : `${mode.code} (Retry-After ${mode.retryAfter})`;
}

export function renderPage(m: PageModel): string {
  const g = m.generation;
  const pending = m.clients.filter((c) => !c.approved);
  const states = latestStates(m.reports);
  const clientIds = [...new Set([...m.clients.filter((c) => c.approved).map((c) => c.clientId), ...states.keys(), ...m.capabilityClients])].sort();

  const files = g
    ? g.deployments
        .map(
          (d) =>
            `<tr><td>${esc(d.file)}</td><td><code>${esc(d.id)}</code></td><td><code>${esc(d.digest.slice(0, 19))}…</code></td><td>${d.warning ? `<span class="warn">the agent will reject it: ${esc(d.warning)}</span>` : "ok"}</td></tr>`,
        )
        .join("")
    : "";
  const skipped = g ? g.skipped.map((s) => `<tr><td>${esc(s.file)}</td><td colspan="3" class="err">skipped: ${esc(s.reason)}</td></tr>`).join("") : "";

  const clientSections = clientIds
    .map((id) => {
      const perDeployment = states.get(id);
      const rows = perDeployment
        ? [...perDeployment.entries()]
            .map(
              ([deploymentId, s]) =>
                `<tr><td><code>${esc(deploymentId)}</code></td><td class="state ${esc(s.state)}">${esc(s.state)}</td><td>${s.components
                  .map((c) => `${esc(c.name)}: <span class="state ${esc(c.state)}">${esc(c.state)}</span> ${errorText(c.error)}`)
                  .join("<br>")}</td><td>${errorText(s.error)}</td><td>${esc(s.adoptedManifestVersion)}</td><td>${esc(s.receivedAt)}</td></tr>`,
            )
            .join("")
        : `<tr><td colspan="6">no status reports yet</td></tr>`;
      return `<h3>client <code>${esc(id)}</code></h3><table><tr><th>deployment</th><th>state</th><th>components</th><th>error</th><th>manifest</th><th>received</th></tr>${rows}</table>`;
    })
    .join("");

  const approvals = pending
    .map(
      (c) =>
        `<li><code>${esc(c.clientId)}</code> (certificate ${esc((c.thumbprint ?? "").slice(0, 16))}…, since ${esc(c.onboardedAt)}) <form method="post" action="/api/dev/clients/${esc(encodeURIComponent(c.clientId))}/approve"><button>approve</button></form></li>`,
    )
    .join("");

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>margo-agent dev WFM</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3}code{font-size:12px}.err{color:#b00}.warn{color:#a60}.state.installed{color:#070}.state.failed{color:#b00}.state.installing,.state.pending{color:#a60}.state.removed,.state.removing{color:#555}form{display:inline}li{margin:.3em 0}</style>
</head><body>
<h1>margo-agent dev WFM</h1>
<p>Folder <code>${esc(m.dir)}</code> · manifestVersion <b>${esc(g?.manifestVersion ?? "–")}</b> since ${esc(g?.since ?? "–")} · ${g ? g.deployments.length : 0} deployment(s)${g?.bundle ? ` · bundle <code>${esc(g.bundle.digest.slice(0, 19))}…</code>` : ""}</p>
<p>Faults: ${Object.entries(m.faults).map(([route, mode]) => `${esc(route)}=<b>${esc(faultText(mode))}</b>`).join(" · ")}</p>
<h2>Files</h2>
<table><tr><th>file</th><th>deployment id</th><th>digest</th><th>check</th></tr>${files}${skipped}${files || skipped ? "" : `<tr><td colspan="4">no *.yaml files</td></tr>`}</table>
<h2>Pending approvals</h2>
${approvals ? `<ul>${approvals}</ul>` : "<p>none</p>"}
<h2>Clients</h2>
${clientSections || "<p>no client has reported yet</p>"}
</body></html>
`;
}
