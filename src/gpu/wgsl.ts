/**
 * WGSL text the host generates, so constants that TS and WGSL share have one
 * source (a TS list) and are never mirrored by hand, and the helpers every
 * family shares (shaders/common.wgsl).
 */
import commonWgsl from '../../shaders/common.wgsl?raw';

/** shaders/common.wgsl: `linear_index` and other helpers; prepend before a family's own source. */
export const COMMON_WGSL: string = commonWgsl;

/** `const NAME: u32 = 3u;` (or i32, f32) lines, one per entry. */
export function wgslConstants(values: Record<string, number | boolean>, type: 'u32' | 'i32' | 'f32' = 'u32'): string {
  return (
    Object.entries(values)
      .map(([name, v]) => {
        if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`wgslConstants: "${name}" is not an UPPER_SNAKE_CASE name`);
        if (typeof v === 'boolean') return `const ${name}: bool = ${v};`;
        if (type === 'f32') return `const ${name}: f32 = ${Number.isInteger(v) ? v.toFixed(1) : String(v)};`;
        if (!Number.isInteger(v)) throw new Error(`wgslConstants: ${name} = ${v} is not an integer (${type})`);
        return `const ${name}: ${type} = ${v}${type === 'u32' ? 'u' : 'i'};`;
      })
      .join('\n') + '\n'
  );
}

/**
 * Index constants for a TS list of names: `const <PREFIX>_<NAME>: u32 = <index>u;`
 * per entry, and `const <PREFIX>_COUNT: u32 = <length>u;`.
 */
export function wgslIndexConstants(prefix: string, names: readonly string[]): string {
  const entries: Record<string, number> = {};
  names.forEach((name, i) => (entries[`${prefix}_${name.toUpperCase()}`] = i));
  entries[`${prefix}_COUNT`] = names.length;
  return wgslConstants(entries);
}
