/**
 * The statistics the benchmarks judge their goals with (bench/lib/stats.ts): quartiles of
 * repeated measurements, and what their spread allows a goal's verdict to say.
 */
import { describeSpread, quantile, spread, verdict } from '../../../bench/lib/stats';

describe('spread', () => {
  test('gives the median and the quartiles, interpolated between ranks, whatever the order', () => {
    // GIVEN nine costs in no order
    const costs = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6];
    // WHEN the spread is taken
    const s = spread(costs);
    // THEN the median is the middle one and the quartiles sit between ranks
    expect(s).toEqual({ n: 9, min: 0.1, q1: 0.3, median: 0.5, q3: 0.7, max: 0.9 });
    expect(quantile([10, 20], 0.5)).toBe(15);
  });

  test('fails when there is nothing to summarize', () => {
    expect(() => spread([])).toThrow(/no samples/);
  });
});

describe('verdict', () => {
  test('says met only when the whole middle half is on the good side of the limit', () => {
    // GIVEN costs whose middle half is under 20%, and a higher one among them
    const s = spread([0.1, 0.12, 0.15, 0.16, 0.35]);
    // THEN the goal "under 20%" is met, and "at least 10%" is met too
    expect(verdict(s, 0.2, 'below')).toBe('met');
    expect(verdict(s, 0.1, 'above')).toBe('met');
  });

  test('says missed when the whole middle half is on the wrong side', () => {
    expect(verdict(spread([0.05, 0.28, 0.31, 0.4, 0.63]), 0.2, 'below')).toBe('missed');
  });

  test('says undecided when the middle half straddles the limit, even with the median on the good side', () => {
    // GIVEN a median of 18% whose middle half runs from 12% to 25%
    const s = spread([0.05, 0.12, 0.18, 0.25, 0.4]);
    expect(s.median).toBeLessThan(0.2);
    // THEN the spread cannot say the cost is under 20%
    expect(verdict(s, 0.2, 'below')).toBe('undecided');
  });

  test('describes a spread with its middle half, its range and its count', () => {
    expect(describeSpread(spread([10, 20, 30, 40, 50]), 0, '%')).toBe('30% (middle half 20-40%, all 10-50%, n = 5)');
  });
});
