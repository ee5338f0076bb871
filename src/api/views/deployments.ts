/**
 * Deployment views built from the state store alone, so the API and the CLI's
 * offline mode (agent down, database opened read-only) show the same thing.
 */
import { parseDeployment } from "../../deployment/parse.ts";
import { asAgentError } from "../../errors/index.ts";
import type { ComponentStatus, StatusError } from "../../model/states.ts";
import type { AppliedDeployment } from "../../model/applied.ts";
import type { StoreReader } from "../../agent/read-model.ts";
import type { BackoffView, ComponentView, DeploymentDetail, DeploymentSummary } from "../source.ts";
import { iso } from "./iso.ts";
import { maskedParameters } from "./mask.ts";

const errorView = (e: StatusError | undefined) => (e ? { code: e.code, message: e.message, source: e.source } : null);

const componentView = (c: ComponentStatus): ComponentView => ({ name: c.name, state: c.state, error: errorView(c.error) });

export function deploymentSummary(d: AppliedDeployment): DeploymentSummary {
  return {
    id: d.id,
    name: d.name,
    state: d.state,
    since: iso(d.sinceMs),
    error: errorView(d.error),
    digest: d.digest,
    manifestVersion: d.manifestVersion,
    wanted: d.wanted,
    attempts: d.attempts,
    components: d.components.map(componentView),
  };
}

export function deploymentSummaries(store: StoreReader): DeploymentSummary[] {
  return store.listDeployments().map(deploymentSummary);
}

export function deploymentDetail(store: StoreReader, id: string, pendingReports: number, retry: BackoffView | null): DeploymentDetail | undefined {
  const d = store.getDeployment(id);
  if (!d) return undefined;
  let profileType: string | null = null;
  let applicationId: string | null = null;
  let parameters: DeploymentDetail["parameters"] = [];
  let parseError: DeploymentDetail["parseError"] = null;
  try {
    const parsed = parseDeployment(d.yaml, `stored deployment ${id}`);
    profileType = parsed.profileType;
    applicationId = parsed.applicationId ?? null;
    parameters = maskedParameters(d.yaml);
  } catch (err) {
    const e = asAgentError(err);
    parseError = { code: e.code, message: e.message };
  }
  return {
    ...deploymentSummary(d),
    profileType,
    applicationId,
    lastKnownGoodDigest: d.goodDigest ?? null,
    history: store.history(id).map((h) => ({ state: h.state, at: iso(h.wallMs), error: h.errorCode ? { code: h.errorCode, message: h.message ?? "" } : null })),
    parameters,
    parseError,
    pendingReports,
    retry,
  };
}

/** Counts per state, every known state present (so metrics series never vanish). */
export function countByState(deployments: readonly { state: string }[]): Record<string, number> {
  const counts: Record<string, number> = { pending: 0, installing: 0, installed: 0, failed: 0, removing: 0, removed: 0 };
  for (const d of deployments) counts[d.state] = (counts[d.state] ?? 0) + 1;
  return counts;
}
