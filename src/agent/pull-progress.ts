/**
 * Package pulls under way, for the read model: which deployment and component,
 * what, and how many bytes of how many. The resolver writes (src/bootstrap/
 * resolve-components.ts), the Agent's snapshot reads a frozen copy.
 */
export interface PullView {
  readonly deploymentId: string;
  readonly component: string;
  readonly reference: string;
  readonly bytes: number;
  readonly total: number;
  readonly startedAtMs: number;
}

export class PullProgress {
  private readonly pulls = new Map<string, PullView>();

  update(deploymentId: string, component: string, reference: string, bytes: number, total: number): void {
    const key = `${deploymentId}/${component}`;
    const startedAtMs = this.pulls.get(key)?.startedAtMs ?? Date.now();
    this.pulls.set(key, { deploymentId, component, reference, bytes, total, startedAtMs });
  }

  done(deploymentId: string, component: string): void {
    this.pulls.delete(`${deploymentId}/${component}`);
  }

  snapshot(): readonly PullView[] {
    return Object.freeze([...this.pulls.values()].map((p) => Object.freeze({ ...p })));
  }
}
