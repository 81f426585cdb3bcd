/**
 * The published package as a user gets it: `npm run build`, `npm pack`, and the
 * tarball unpacked into node_modules of a throwaway project outside the repo
 * (what `npm install <tarball>` does, offline: its one dependency, `webgpu`, is
 * linked from this repo). There, plain Node imports every subpath export, tsc
 * checks the declarations, and Vite and Rolldown bundle a browser page from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';
import { rolldown } from 'rolldown';
import { lastJson, repoRoot, runNode } from './node-child';

let consumer = '';
let installed = '';
let packedFiles: string[] = [];

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Subpath → the source entry it is built from. */
const ENTRIES = {
  'webgpu-rl': '../src/index',
  'webgpu-rl/kernels': '../src/index-kernels',
  'webgpu-rl/reference': '../src/index-reference',
  'webgpu-rl/wgsl': '../src/index-wgsl',
} as const;

beforeAll(() => {
  run('npm', ['run', '--silent', 'build'], repoRoot);
  consumer = mkdtempSync(join(tmpdir(), 'webgpu-rl-consumer-'));
  const [pack] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer], repoRoot)) as [
    { filename: string; files: { path: string }[] },
  ];
  packedFiles = pack.files.map((f) => f.path);
  const modules = join(consumer, 'node_modules');
  mkdirSync(join(modules, '@webgpu'), { recursive: true });
  run('tar', ['-xzf', join(consumer, pack.filename), '-C', consumer], consumer);
  installed = join(modules, 'webgpu-rl');
  renameSync(join(consumer, 'package'), installed);
  symlinkSync(join(repoRoot, 'node_modules', 'webgpu'), join(modules, 'webgpu'), 'dir');
  symlinkSync(join(repoRoot, 'node_modules', '@webgpu', 'types'), join(modules, '@webgpu', 'types'), 'dir');
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
}, 300_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const path = join(consumer, name);
  writeFileSync(path, text);
  return path;
}

/** Module specifiers of static imports, dynamic imports (comments allowed before the string) and require calls. */
const IMPORTS = /(?:\bfrom\s*|\bimport\s*\(\s*(?:\/\*[^]*?\*\/\s*)*|\brequire\s*\(\s*)["']([^"']+)["']/g;

const shaderFiles = readdirSync(join(repoRoot, 'shaders')).filter((f) => f.endsWith('.wgsl'));

describe('the npm pack tarball', () => {
  it('ships the builds, declarations, WGSL sources and LICENSE; not src/, the app, the CLI or the tests', () => {
    for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/require.cjs', 'dist/types/wgsl_reflect/LICENSE.md', ...shaderFiles.map((s) => `shaders/${s}`)]) {
      expect(packedFiles, f).toContain(f);
    }
    for (const entry of ['index', 'kernels', 'reference', 'wgsl']) {
      expect(packedFiles).toContain(`dist/node/${entry}.js`);
      expect(packedFiles).toContain(`dist/browser/${entry}.js`);
    }
    for (const entry of ['index', 'index-kernels', 'index-reference', 'index-wgsl']) expect(packedFiles).toContain(`dist/types/${entry}.d.ts`);
    const stray = packedFiles.filter((f) => /^(src|test|e2e|bench|examples|node_modules|dist-cli|dist-web)\//.test(f) || /\/(ui|cli)\//.test(f));
    expect(stray).toEqual([]);
    expect(readFileSync(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} webgpu-rl contributors\n/);
  });

  it('depends on what the builds import and nothing else: webgpu (Node only); wgsl_reflect is bundled, its license and types with it', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(manifest.dependencies)).toEqual(['webgpu']);
    const bare = (dir: string) => {
      const found = new Set<string>();
      for (const file of readdirSync(join(installed, dir)).filter((f) => f.endsWith('.js'))) {
        const text = readFileSync(join(installed, dir, file), 'utf8');
        for (const m of text.matchAll(IMPORTS)) if (!m[1].startsWith('.')) found.add(m[1]);
      }
      return [...found].sort();
    };
    expect(bare('dist/node')).toEqual(['node:fs', 'webgpu']);
    expect(bare('dist/browser')).toEqual([]);
  });
});

describe('plain Node in a project that installed the tarball', () => {
  it('imports every subpath export, each with the names of its source entry', async () => {
    const main = script(
      'exports.mjs',
      `const types = {};
for (const name of ${JSON.stringify(Object.keys(ENTRIES))}) {
  const lib = await import(name);
  types[name] = Object.fromEntries(Object.entries(lib).map(([k, v]) => [k, typeof v]));
}
const shaders = ${JSON.stringify(shaderFiles)}.map((f) => import.meta.resolve('webgpu-rl/shaders/' + f));
console.log(JSON.stringify({ types, shaders }));
`,
    );
    const result = await runNode(main, [], { cwd: consumer });
    expect(result.code, result.stderr).toBe(0);
    const { types, shaders } = lastJson<{ types: Record<string, Record<string, string>>; shaders: string[] }>(result);
    for (const [name, source] of Object.entries(ENTRIES)) {
      const exported = (await import(source)) as Record<string, unknown>;
      expect(types[name], name).toEqual(Object.fromEntries(Object.entries(exported).map(([k, v]) => [k, typeof v])));
    }
    expect(types['webgpu-rl'].requestGpu).toBe('function');
    expect(types['webgpu-rl/wgsl'].wgsl).toBe('function');
    // Internals stay inside: the CLI's parser, the kernel cache, the dispatch counter.
    for (const internal of ['parseTrainArgs', 'perDevice', 'countDispatches']) {
      for (const name of Object.keys(ENTRIES)) expect(types[name], `${name} exports ${internal}`).not.toHaveProperty(internal);
    }
    const root = realpathSync(installed);
    expect(shaders).toEqual(shaderFiles.map((f) => pathToFileURL(join(root, 'shaders', f)).href));
  });

  it('require() says how to load the ES module instead of failing obscurely', async () => {
    const main = script(
      'require.cjs',
      `try { require('webgpu-rl'); console.log(JSON.stringify('loaded')); } catch (e) { console.log(JSON.stringify(e.message)); }`,
    );
    const result = await runNode(main, [], { cwd: consumer });
    expect(result.code, result.stderr).toBe(0);
    expect(lastJson<string>(result)).toMatch(/^webgpu-rl is an ES module: use `import \{ requestGpu \} from 'webgpu-rl'`/);
  });

  it('runs a GPU context and WGSL reflected by the bundled wgsl_reflect, printing nothing on stdout, and exits without destroy()', async () => {
    const main = script(
      'gpu.mjs',
      `import { requestGpu, describeAdapter } from 'webgpu-rl';
import { ShaderFamily, wgsl } from 'webgpu-rl/wgsl';
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
const gae = wgsl('gae');
process.stderr.write(JSON.stringify({ adapter: describeAdapter(gpu.adapter), offset, bindings: [...kernel.bindings.keys()], gaeArgs: gae.struct('GaeArgs').paddedSize }) + '\\n');
`,
    );
    const result = await runNode(main, [], { cwd: consumer, timeoutMs: 60_000 });
    expect(result.timedOut, `did not exit:\n${result.stderr}`).toBe(false);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    const report = JSON.parse(result.stderr.trim().split('\n').at(-1) ?? '') as { adapter: string; offset: number; bindings: string[]; gaeArgs: number };
    expect(report.adapter.length).toBeGreaterThan(0);
    expect(report.offset).toBe(8);
    expect(report.bindings).toEqual(['params', 'y']);
    expect(report.gaeArgs).toBe(32);
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
      `import { requestGpu, describeAdapter, readFloat32, storageBuffer, resolveConfig, makeTrainer, CartPoleVec, type GpuContext } from 'webgpu-rl';
import { Gae, MlpLayout, type GaeOptions } from 'webgpu-rl/kernels';
import { gaeReference } from 'webgpu-rl/reference';
import { wgsl, type ShaderName } from 'webgpu-rl/wgsl';
const gpu: GpuContext = await requestGpu({ adapter: 'auto' });
const device: GPUDevice = gpu.device;
const buffer = storageBuffer(gpu, 'consumer', 16);
// What a read returns goes back into writeBuffer as it is.
device.queue.writeBuffer(buffer, 0, await readFloat32(gpu, buffer));
const options: GaeOptions = { numEnvs: 1, numSteps: 1, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };
const name: ShaderName = 'gae';
export const checks = [
  describeAdapter(gpu.adapter) + device.label,
  wgsl(name).struct('GaeArgs').paddedSize,
  gaeReference({ ...options, rewards: [1], doneFlags: [1], values: [0, 0], finalValues: [0] }).advantages[0],
  new MlpLayout([4, 2], ['identity']).paramCount,
  typeof Gae.create,
  typeof CartPoleVec.create,
  makeTrainer(gpu, resolveConfig({ algo: 'ppo', numEnvs: 8 })),
];
`,
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const module = resolution === 'bundler' ? 'esnext' : 'nodenext';
    const args = [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, `consumer-${resolution}.ts`];
    const result = spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

/** Every import a bundle still makes of something outside itself, and the Node-only names it mentions. */
function nodeOnlyTraces(code: string): string[] {
  const traces = [...code.matchAll(IMPORTS)].map((m) => m[1]).filter((s) => !s.startsWith('.'));
  for (const word of ['node:fs', 'node:path', 'node:url', 'createRequire', 'dawn.node']) {
    if (code.includes(word) && !traces.includes(word)) traces.push(word);
  }
  return traces;
}

describe('browser bundles of the installed tarball, default configuration', () => {
  const page = `import { requestGpu, CartPoleVec, resolveConfig } from 'webgpu-rl';
import { Gae } from 'webgpu-rl/kernels';
import { wgsl } from 'webgpu-rl/wgsl';
const gpu = await requestGpu();
const env = await CartPoleVec.create(gpu, { numEnvs: 16, seed: 1 });
document.body.textContent = [env.numEnvs, wgsl('gae').code.length, typeof Gae.create, resolveConfig().algo].join(' ');
`;

  it('Vite: no Node-only code, no webgpu import', async () => {
    const dir = join(consumer, 'vite-page');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    writeFileSync(join(dir, 'main.js'), page);
    const warnings: string[] = [];
    await build({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      customLogger: { info() {}, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m), error() {}, clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
      build: { outDir: join(dir, 'dist'), emptyOutDir: true, target: 'es2022' },
    });
    const assets = join(dir, 'dist', 'assets');
    const code = readdirSync(assets)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(assets, f), 'utf8'))
      .join('\n');
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
    expect(warnings.filter((w) => /externalized|node:/.test(w))).toEqual([]);
  });

  it("Rolldown with platform 'browser': no Node-only code, no webgpu import", async () => {
    const entry = script('rolldown-page.js', page);
    const bundle = await rolldown({ input: entry, platform: 'browser', cwd: consumer, logLevel: 'silent' });
    const { output } = await bundle.generate({ format: 'es' });
    const code = output.map((chunk) => ('code' in chunk ? chunk.code : '')).join('\n');
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
  });

  it('tree-shaking: gaeReference alone bundles without the WGSL parser or any other reference, in under 1.5 kB', async () => {
    const entry = script('reference-only.js', `import { gaeReference } from 'webgpu-rl/reference';\nconsole.log(gaeReference);\n`);
    const bundle = await rolldown({ input: entry, platform: 'browser', cwd: consumer, logLevel: 'silent' });
    const { output } = await bundle.generate({ format: 'es', minify: true });
    const code = output.map((chunk) => ('code' in chunk ? chunk.code : '')).join('\n');
    expect(code).toContain('truncationAsTerminal');
    expect(code).not.toMatch(/WgslReflect|wgsl_reflect|@compute|philox|tanh/);
    // About 0.5 kB minified (the whole package is over 500 kB).
    expect(code.length).toBeLessThan(1500);
  });
});
