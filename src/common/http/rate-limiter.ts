/**
 * Token buckets per key, in memory (per instance). `perMinute` tokens refill continuously; a
 * burst of up to `burst` is allowed. Idle buckets are swept so memory stays bounded.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updated: number }>();
  private readonly refillPerMs: number;
  private lastSweep = 0;

  constructor(
    private readonly perMinute: number,
    private readonly burst: number = perMinute,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  /** Takes one token; answers how long to wait when none is left. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updated: now };
    // A clock stepping back (NTP) refills nothing rather than emptying the bucket.
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.updated) * this.refillPerMs);
    bucket.updated = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.buckets.set(key, bucket);
      return { allowed: true };
    }
    this.buckets.set(key, bucket);
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerMs / 1000)) };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000 && this.buckets.size < this.maxKeys) return;
    this.lastSweep = now;
    const fullAfterMs = this.burst / this.refillPerMs;
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.updated > fullAfterMs) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) {
      // Still too many live keys: drop the oldest half rather than grow without bound.
      const sorted = [...this.buckets.entries()].sort((a, b) => a[1].updated - b[1].updated);
      for (const [key] of sorted.slice(0, Math.floor(sorted.length / 2))) this.buckets.delete(key);
    }
  }
}
