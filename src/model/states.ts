/** Margo deployment/component states (docs/protocol.md §6) and how they combine. */
export const STATES = ["pending", "installing", "installed", "failed", "removing", "removed"] as const;
export type DeploymentState = (typeof STATES)[number];

export interface StatusError {
  code: string;
  source: string;
  message: string;
}

export interface ComponentStatus {
  name: string;
  state: DeploymentState;
  error?: StatusError;
}

const SEVERITY: Record<DeploymentState, number> = { failed: 5, removing: 4, installing: 3, pending: 2, installed: 1, removed: 1 };

/** The deployment's state is its most severe component state. */
export function overallState(components: readonly ComponentStatus[], fallback: DeploymentState = "pending"): DeploymentState {
  let worst: DeploymentState | undefined;
  for (const c of components) if (!worst || SEVERITY[c.state] > SEVERITY[worst]) worst = c.state;
  return worst ?? fallback;
}

export function sameStatus(a: readonly ComponentStatus[], b: readonly ComponentStatus[]): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i]!.name && c.state === b[i]!.state && c.error?.code === b[i]!.error?.code && c.error?.message === b[i]!.error?.message);
}
