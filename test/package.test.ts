/**
 * The published package as a user gets it: `npm run build`, then plain Node
 * and tsc in a directory outside the repo where `webgpu-rl` is installed (a
 * symlink in its node_modules, as `npm link` makes), importing by package name
 * through the `exports` map. Also what `npm pack` would ship.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastJson, repoRoot, runNode } from './node-child';

let consumer = '';

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 90_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  run('npm', ['run', '--silent', 'build'], repoRoot);
  consumer = mkdtempSync(join(tmpdir(), 'webgpu-rl-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(repoRoot, join(consumer, 'node_modules', 'webgpu-rl'), 'dir');
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
});

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const path = join(consumer, name);
  writeFileSync(path, text);
  return path;
}

const shaderFiles = readdirSync(join(repoRoot, 'shaders')).filter((f) => f.endsWith('.wgsl'));

describe('package webgpu-rl from outside the repo', () => {
  it('plain Node imports it by name, with the same exports as src/index.ts', async () => {
    const main = script(
      'exports.mjs',
      `const lib = await import('webgpu-rl');
const types = Object.fromEntries(Object.entries(lib).map(([name, value]) => [name, typeof value]));
const shaders = ${JSON.stringify(shaderFiles)}.map((f) => import.meta.resolve('webgpu-rl/shaders/' + f));
console.log(JSON.stringify({ types, shaders }));
`,
    );
    const result = await runNode(main, [], { cwd: consumer });
    expect(result.code, result.stderr).toBe(0);
    const { types, shaders } = lastJson<{ types: Record<string, string>; shaders: string[] }>(result);
    const source = (await import('../src/index')) as Record<string, unknown>;
    expect(types).toEqual(Object.fromEntries(Object.entries(source).map(([name, value]) => [name, typeof value])));
    expect(types.requestGpu).toBe('function');
    expect(shaderFiles.length).toBeGreaterThan(0);
    const root = realpathSync(repoRoot);
    expect(shaders).toEqual(shaderFiles.map((f) => pathToFileURL(join(root, 'shaders', f)).href));
  });

  it('runs from plain Node: a GPU context, and WGSL reflected by the bundled wgsl_reflect', async () => {
    const main = script(
      'gpu.mjs',
      `import { requestGpu, describeAdapter, ShaderFamily } from 'webgpu-rl';
const gpu = await requestGpu({ quiet: true });
const family = await ShaderFamily.load(gpu, 'consumer', \`
struct Params { count: u32, scale: f32, offset: vec2<f32> }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < params.count) { y[gid.x] = params.scale + params.offset.x; }
}\`);
const offset = family.struct('Params').offsetOf('offset');
const kernel = await family.kernel('main');
console.log(JSON.stringify({ adapter: describeAdapter(gpu.adapter), offset, bindings: [...kernel.bindings.keys()] }));
gpu.destroy();
`,
    );
    const result = await runNode(main, [], { cwd: consumer, timeoutMs: 60_000 });
    expect(result.timedOut, `did not exit:\n${result.stderr}`).toBe(false);
    expect(result.code, result.stderr).toBe(0);
    const report = lastJson<{ adapter: string; offset: number; bindings: string[] }>(result);
    expect(report.adapter.length).toBeGreaterThan(0);
    expect(report.offset).toBe(8);
    expect(report.bindings).toEqual(['params', 'y']);
  });

  it('reads WEBGPU_RL_ADAPTER from the environment (not inlined by the bundler)', async () => {
    const main = script(
      'env.mjs',
      `import { requestGpu } from 'webgpu-rl';
console.log(JSON.stringify(await requestGpu().then(() => 'resolved', (e) => e.message)));
`,
    );
    const result = await runNode(main, [], { cwd: consumer, env: { WEBGPU_RL_ADAPTER: 'metal' } });
    expect(result.code, result.stderr).toBe(0);
    expect(lastJson<string>(result)).toMatch(/WEBGPU_RL_ADAPTER: "metal" is not one of/);
  });

  it.each(['nodenext', 'bundler'])('its declarations type-check a consumer with moduleResolution %s', (resolution) => {
    script(
      `consumer-${resolution}.ts`,
      `import { requestGpu, describeAdapter, type GpuContext } from 'webgpu-rl';
const gpu: GpuContext = await requestGpu({ adapter: 'auto' });
const device: GPUDevice = gpu.device;
export const line: string = describeAdapter(gpu.adapter) + device.label;
`,
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const module = resolution === 'bundler' ? 'esnext' : 'nodenext';
    const args = [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, `consumer-${resolution}.ts`];
    const result = spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('npm pack ships the ESM entry, its declarations and the WGSL sources, not the tests', () => {
    const [pack] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], repoRoot)) as [{ files: { path: string }[] }];
    const files = new Set(pack.files.map((f) => f.path));
    for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/gpu/device.d.ts', ...shaderFiles.map((s) => `shaders/${s}`)]) {
      expect(files, f).toContain(f);
    }
    expect([...files].filter((f) => f.startsWith('test/') || f.startsWith('node_modules/'))).toEqual([]);
  });
});
