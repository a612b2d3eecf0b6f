/**
 * Statistics of repeated measurements, for the benchmarks: medians and the spread that says
 * how far a median can be trusted on a shared machine.
 */

/** The spread of samples: lowest, quartiles (linear interpolation), median, highest. */
export interface Spread {
  readonly n: number;
  readonly min: number;
  readonly q1: number;
  readonly median: number;
  readonly q3: number;
  readonly max: number;
}

/** The p-quantile (0 to 1) of samples, interpolated between the nearest ranks. */
export function quantile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const at = (s.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

export function spread(samples: readonly number[]): Spread {
  return {
    n: samples.length,
    min: quantile(samples, 0),
    q1: quantile(samples, 0.25),
    median: quantile(samples, 0.5),
    q3: quantile(samples, 0.75),
    max: quantile(samples, 1),
  };
}

/**
 * What the spread of repeated measurements allows us to say about "value < limit" (or "value >=
 * limit" with `above`): met when the upper quartile is on the good side of the limit, missed when
 * the lower quartile is on the bad side, and undecided when the middle half straddles it.
 */
export function verdict(s: Spread, limit: number, good: 'below' | 'above'): 'met' | 'missed' | 'undecided' {
  const ok = (x: number) => (good === 'below' ? x < limit : x >= limit);
  if (ok(s.q1) && ok(s.q3)) return 'met';
  if (!ok(s.q1) && !ok(s.q3)) return 'missed';
  return 'undecided';
}

/** "median (middle half q1-q3, all min-max)" with `digits` decimals. */
export function describeSpread(s: Spread, digits = 0, unit = ''): string {
  const f = (x: number) => x.toFixed(digits);
  return `${f(s.median)}${unit} (middle half ${f(s.q1)}-${f(s.q3)}${unit}, all ${f(s.min)}-${f(s.max)}${unit}, n = ${s.n})`;
}
