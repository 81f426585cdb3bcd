// The source tree's layers import only downward, so a newcomer can read any
// layer knowing only the ones below it (no GPU needed).
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Lower layers first; a module may import its own folder and any folder of a lower rank. */
const LAYERS: Record<string, number> = {
  core: 0, // config, metrics, random numbers: plain TS, no GPU
  gpu: 1, // device, reflection-driven kernels, buffers, slot tables
  nn: 2, // network layouts and initialisers
  reference: 3, // every float64 CPU reference
  envs: 4, // environments (WGSL modules and their wrappers)
  kernels: 5, // one wrapper per shaders/*.wgsl family
  algos: 6, // updates behind one interface, and their registry
  train: 7, // the trainer loop, checkpoints, evaluation
  cli: 8, // Node entry points
  ui: 8, // the Studio page
};

const srcRoot = resolve(__dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) ? [path] : [];
  });
}

function layerOf(file: string): string {
  return relative(srcRoot, file).split('/')[0];
}

describe('source layers', () => {
  const files = sources(srcRoot);

  it('every folder of src/ has a layer', () => {
    const folders = new Set(files.map(layerOf).filter((l) => !l.endsWith('.ts')));
    expect([...folders].filter((f) => !(f in LAYERS))).toEqual([]);
  });

  it('nothing imports upward or sideways', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      if (from.endsWith('.ts')) continue; // index.ts and declarations sit above every layer
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"?]+)/g)) {
        const target = resolve(dirname(file), m[1]);
        if (!target.startsWith(srcRoot)) continue; // shaders/ and package files
        const to = layerOf(target);
        if (to === from) continue;
        if (!(to in LAYERS) || LAYERS[to] >= LAYERS[from]) violations.push(`${relative(srcRoot, file)} imports ${m[1]} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
