/**
 * Latency percentiles without keeping every sample: a histogram of
 * logarithmic buckets (about 4 % wide, from 10 µs to about 10 min), so a
 * fleet of 10,000 devices costs a few kilobytes per route, not a list of
 * millions of numbers. Pure.
 */

const MIN_MS = 0.01;
/** Buckets per doubling: 2^(1/18) ≈ 1.039, so a percentile is within 4 % of the truth. */
const PER_DOUBLING = 18;
const BUCKETS = PER_DOUBLING * 26; // 0.01 ms · 2^26 ≈ 11 min

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  maxMs = 0;

  add(ms: number): void {
    this.counts[bucketOf(ms)]!++;
    this.count++;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The q-quantile (0–1) in ms: the upper edge of the bucket it falls in, never above the largest sample. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(upperEdge(i), this.maxMs);
    }
    return this.maxMs;
  }

  /** Adds another histogram's samples (a window's figures into the run's). */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
  }
}

function bucketOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log2(ms / MIN_MS) * PER_DOUBLING));
}

function upperEdge(bucket: number): number {
  return MIN_MS * 2 ** (bucket / PER_DOUBLING);
}
