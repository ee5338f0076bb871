/**
 * Runs jobs one at a time in arrival order: polls, drift checks and operator
 * syncs never reconcile concurrently against the same engine.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private depth = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.depth++;
    const result = this.tail.then(job, job);
    this.tail = result.then(
      () => this.depth--,
      () => this.depth--,
    );
    return result;
  }

  get busy(): boolean {
    return this.depth > 0;
  }

  idle(): Promise<unknown> {
    return this.tail;
  }
}
