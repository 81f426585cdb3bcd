/**
 * Axis tick labels for the Studio's charts. uPlot's own labels keep at most
 * three decimals, so a KL axis from 0 to 0.0004 read "0 0 0"; these keep as
 * many digits as the tick spacing needs, in exponent form once plain decimals
 * would need more than three.
 */

/** Most decimals written out before labels switch to exponent form (0.001 stays plain, 0.0005 becomes 5e-4). */
const MAX_PLAIN_DECIMALS = 3;
/** Most significant digits after the point in exponent form. */
const MAX_EXPONENT_DIGITS = 6;

/** The labels of one axis's ticks, each telling apart from its neighbours and read back within 0.1% of the spacing. */
export function tickLabels(splits: readonly number[]): string[] {
  const finite = splits.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return splits.map(() => '');
  const sorted = [...finite].sort((a, b) => a - b);
  const gaps = sorted.slice(1).map((v, i) => v - sorted[i]).filter((d) => d > 0);
  const largest = Math.max(...finite.map(Math.abs));
  // A lone tick (or repeated ones) is written to a precision relative to its own size.
  const spacing = gaps.length > 0 ? Math.min(...gaps) : largest;
  const tolerance = spacing * 1e-3;
  const exact = (write: (v: number) => string) => finite.every((v) => Math.abs(Number(write(v)) - v) <= tolerance);
  const label = (write: (v: number) => string) => splits.map((v) => (!Number.isFinite(v) ? '' : v === 0 ? '0' : write(v)));
  if (largest === 0) return label(() => '0');
  for (let decimals = 0; decimals <= MAX_PLAIN_DECIMALS && largest < 1e6; decimals++) {
    const write = (v: number) => {
      const text = v.toFixed(decimals);
      // -0.000 after rounding reads as 0.
      return Number(text) === 0 ? '0' : text;
    };
    if (exact(write)) return label(write);
  }
  for (let digits = 0; digits < MAX_EXPONENT_DIGITS; digits++) {
    const write = (v: number) => v.toExponential(digits);
    if (exact(write)) return label(write);
  }
  return label((v) => v.toExponential(MAX_EXPONENT_DIGITS));
}
