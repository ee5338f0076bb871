/** A deployment named on the command line: its exact id, or a prefix naming exactly one (tables shorten ids with "…"). */
import type { ApiClient } from "../api/client.ts";
import type { DeploymentSummary } from "../api/source.ts";

export async function resolveDeploymentId(list: () => Promise<DeploymentSummary[]>, id: string): Promise<{ id: string } | { problem: string }> {
  const all = await list();
  if (all.some((d) => d.id === id)) return { id };
  const prefix = id.replace(/…$/, "");
  const matches = all.filter((d) => d.id.startsWith(prefix));
  if (matches.length === 1) return { id: matches[0]!.id };
  return { problem: matches.length === 0 ? `no deployment with id ${JSON.stringify(id)} on this device` : `${JSON.stringify(id)} matches ${matches.length} deployments: ${matches.map((m) => m.id).join(", ")}` };
}

export const listFrom = (client: ApiClient) => async () => (await client.get<{ deployments: DeploymentSummary[] }>("/v1/deployments")).deployments;
