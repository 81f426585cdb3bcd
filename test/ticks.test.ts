// The Studio's y-axis tick labels: exact strings for the tick lists uPlot produces (spacings 1, 2, 2.5, 5 × 10^k).
import { describe, expect, it } from 'vitest';
import { tickLabels } from '../src/ui/ticks';

describe('chart tick labels', () => {
  it('write small KL values in exponent form instead of rounding them all to 0', () => {
    expect(tickLabels([0, 0.0002, 0.0004, 0.0006])).toEqual(['0', '2e-4', '4e-4', '6e-4']);
    expect(tickLabels([0.00025, 0.0005, 0.00075])).toEqual(['2.5e-4', '5.0e-4', '7.5e-4']);
    expect(tickLabels([1e-7, 2e-7])).toEqual(['1e-7', '2e-7']);
    // Rounding error in the splits does not add digits.
    expect(tickLabels([0.1 + 0.2, 0.6000000000000001])).toEqual(['0.3', '0.6']);
  });

  it('keep plain decimals up to three places, with as many as the spacing needs', () => {
    expect(tickLabels([-500, -400, -300])).toEqual(['-500', '-400', '-300']);
    expect(tickLabels([0.5, 0.75, 1, 1.25])).toEqual(['0.50', '0.75', '1.00', '1.25']);
    expect(tickLabels([0.001, 0.002, 0.003])).toEqual(['0.001', '0.002', '0.003']);
    expect(tickLabels([-0.002, 0, 0.002])).toEqual(['-0.002', '0', '0.002']);
  });

  it('label a lone tick by its own size and leave non-finite ticks blank', () => {
    expect(tickLabels([0.00031])).toEqual(['3.1e-4']);
    expect(tickLabels([0])).toEqual(['0']);
    expect(tickLabels([NaN, 0.0001, 0.0002])).toEqual(['', '1e-4', '2e-4']);
    expect(tickLabels([])).toEqual([]);
  });
});
