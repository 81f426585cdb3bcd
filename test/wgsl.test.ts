/**
 * `webgpu-rl/wgsl`: every shaders/*.wgsl file composed by `wgsl(name)` compiles
 * on its own, its reflection answers without a GPU, and the compositions are
 * the ones the package's own wrappers load (captured from ShaderFamily.load,
 * so the two cannot drift apart unnoticed).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { wgsl, SHADER_NAMES, metricSlotsWgsl, ShaderFamily } from '../src/index-wgsl';
import { storageBuffer } from '../src/gpu/buffers';
import { Gae } from '../src/kernels/gae';
import { ConjugateGradient } from '../src/kernels/cg';
import { ReduceKernels } from '../src/kernels/reduce';
import { PolicyKernels } from '../src/kernels/policy';
import { MlpKernels } from '../src/kernels/mlp';
import { Adam } from '../src/kernels/optim';
import { CartPoleVec } from '../src/envs/vecEnv';
import { ppoFamily } from '../src/algos/ppo';
import { repoRoot } from './node-child';
import { testGpu } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('wgsl(name)', () => {
  it('offers every file of shaders/', () => {
    const files = readdirSync(join(repoRoot, 'shaders')).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, ''));
    expect([...SHADER_NAMES].sort()).toEqual(files.sort());
  });

  it.each(SHADER_NAMES)('%s compiles alone, with no WGSL errors', async (name) => {
    const gpu = await testGpu();
    const source = wgsl(name);
    const module = gpu.device.createShaderModule({ label: `wgsl.test.${name}`, code: source.code });
    const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
    expect(errors).toEqual([]);
    // Its own file is the last part, after what it is loaded after.
    expect(source.parts.length).toBeGreaterThan(0);
  });

  it('reflects layouts without a GPU: GaeArgs packs by field name into 32 bytes, gae binds 8 buffers', () => {
    const gae = wgsl('gae');
    expect(gae.entryPoints()).toEqual(['gae']);
    const args = gae.struct('GaeArgs');
    expect([args.size, args.paddedSize, args.offsetOf('maxEpisodeSteps'), args.offsetOf('finalValuesStride')]).toEqual([28, 32, 12, 24]);
    const bytes = new DataView(args.pack({ numEnvs: 3, numSteps: 5, truncationAsTerminal: 1, maxEpisodeSteps: 7, finalValuesOffset: 9, valuesStride: 18, finalValuesStride: 27 }));
    expect([bytes.getUint32(0, true), bytes.getUint32(16, true), bytes.getUint32(24, true)]).toEqual([3, 9, 27]);
    expect(gae.bindings('gae').map((b) => `${b.binding}:${b.name}:${b.kind}`)).toEqual([
      '0:args:uniform',
      '1:rewards:read-only-storage',
      '2:doneFlags:read-only-storage',
      '3:values:read-only-storage',
      '4:finalValues:read-only-storage',
      '5:advantages:storage',
      '6:returns:storage',
      '7:agents:read-only-storage',
    ]);
    expect(wgsl('pg').code).toContain(metricSlotsWgsl());
  });

  it('names an unknown shader and the known ones', () => {
    expect(() => wgsl('gea' as never)).toThrow(/wgsl: no shader named "gea" \(known: common, random, .*gae.*\)/);
  });

  it('composes each family as its wrapper loads it', async () => {
    const gpu = await testGpu();
    const loaded = new Map<string, string>();
    vi.spyOn(ShaderFamily, 'load').mockImplementation((_gpu, name, sources) => {
      loaded.set(name, (Array.isArray(sources) ? sources : [sources]).map((part) => (typeof part === 'string' ? part : part.code)).join('\n'));
      return Promise.reject(new Error('captured'));
    });
    const buffer = storageBuffer(gpu, 'wgsl.test.buffer', 1024);
    const buffers = { rewards: buffer, doneFlags: buffer, values: buffer, finalValues: buffer, advantages: buffer, returns: buffer };
    const attempts = [
      Gae.create(gpu, buffers, { numEnvs: 4, numSteps: 4, gamma: 0.99, lambda: 0.95, truncationAsTerminal: false }),
      ConjugateGradient.create(gpu, { count: 8, rhs: buffer, iterations: 1, applyOperator: () => {} }),
      ReduceKernels.create(gpu),
      PolicyKernels.create(gpu),
      MlpKernels.create(gpu),
      Adam.create(gpu, { count: 8, lr: 1e-3 }),
      CartPoleVec.create(gpu, { numEnvs: 4, seed: 1 }),
      ppoFamily(gpu),
    ];
    for (const attempt of attempts) await expect(attempt).rejects.toThrow('captured');
    buffer.destroy();
    expect([...loaded.keys()].sort()).toEqual(['cg', 'gae', 'mlp', 'optim', 'policy', 'ppo', 'reduce', 'vec_env']);
    for (const [name, code] of loaded) expect(wgsl(name as never).code, name).toBe(code);
  });
});

describe('storage buffers the code counts before compiling (an adapter that binds fewer skips the kernel)', () => {
  const storage = (name: 'mlp' | 'ppo_chain', entry: string) => wgsl(name).storageBuffers(entry);
  it('counts the storage bindings, not the uniform ones (the chains\' layer tables are uniform)', () => {
    const bindings = wgsl('mlp').bindings('forward_chain_pair');
    expect(storage('mlp', 'forward_chain_pair')).toBe(bindings.filter((b) => b.kind !== 'uniform').length);
    expect(bindings.filter((b) => b.name.startsWith('chainLayers')).map((b) => [b.name, b.kind, b.size])).toEqual([
      ['chainLayers', 'uniform', 16 * 64],
      ['chainLayers2', 'uniform', 16 * 64],
    ]);
  });
  it("the fused steps 12 (serial) and 9 (split), the pairs 9 and 10, the losses chain 14: a GPU's PPO minibatch fits a browser's 10; every chain compiled unconditionally at most 8", () => {
    expect(storage('mlp', 'backward_params_adam_chain')).toBe(12);
    expect(storage('mlp', 'backward_params_adam_wide_chain')).toBe(13);
    expect(storage('mlp', 'backward_params_sum_adam_chain')).toBe(9);
    expect(Math.max(storage('mlp', 'forward_chain_pair'), storage('mlp', 'backward_input_chain_pair'))).toBe(9);
    expect(Math.max(storage('mlp', 'forward_tiles_chain_pair'), storage('mlp', 'backward_input_tiles_chain_pair'))).toBe(10);
    expect(storage('mlp', 'backward_params_blocks_chain_pair')).toBe(9);
    expect(storage('ppo_chain', 'losses_backward_input_chain_pair')).toBe(14);
    for (const entry of ['forward_chain', 'backward_input_chain', 'forward_tiles_chain', 'backward_input_tiles_chain', 'backward_params_chain', 'backward_params_blocks_chain', 'backward_params_sum_chain']) {
      expect(storage('mlp', entry), entry).toBeLessThanOrEqual(8);
    }
  });
});
