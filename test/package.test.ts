/**
 * The published package as a user gets it: `npm run build`, `npm pack`, and the
 * tarball unpacked into node_modules of a throwaway project outside the repo
 * (what `npm install <tarball>` does, offline: its one dependency, `webgpu`, is
 * linked from this repo). There, plain Node imports every subpath export, tsc
 * checks the declarations under both module resolutions and both `lib`
 * settings a consumer may have, and Vite, esbuild, webpack and Rolldown bundle
 * the browser example (examples/browser/) with default settings; each bundle
 * runs in headless Chromium (SwiftShader) and must print its checked result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';
import { rolldown } from 'rolldown';
import { build as esbuild } from 'esbuild';
import webpack from 'webpack';
import { chromium, type Browser } from 'playwright-core';
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

  // A Node project often has "lib": ["ES2022"] alone; a browser one adds "DOM". The WebGPU types must check under both.
  it.each([
    ['nodenext', 'es2022'],
    ['bundler', 'es2022'],
    ['nodenext', 'es2022,dom'],
    ['bundler', 'es2022,dom'],
  ])('its declarations type-check a consumer with moduleResolution %s and lib %s', (resolution, lib) => {
    const file = `consumer-${resolution}-${lib.replace(',', '-')}.ts`;
    script(
      file,
      `import { requestGpu, describeAdapter, readFloat32, storageBuffer, resolveConfig, makeTrainer, CartPoleVec, GpuArray, type GpuContext } from 'webgpu-rl';
import { Gae, MlpLayout, packDoneFlags, type GaeOptions } from 'webgpu-rl/kernels';
import { gaeReference } from 'webgpu-rl/reference';
import { wgsl, type ShaderName } from 'webgpu-rl/wgsl';
const gpu: GpuContext = await requestGpu({ adapter: 'auto' });
const device: GPUDevice = gpu.device;
const buffer = storageBuffer(gpu, 'consumer', 16);
// What a read returns goes back into writeBuffer as it is: no ArrayBufferLike mismatch.
device.queue.writeBuffer(buffer, 0, await readFloat32(gpu, buffer));
const rewards = GpuArray.from(gpu, new Float32Array(4), { shape: [2, 2] });
const flags: GpuArray<'u32'> = GpuArray.from(gpu, packDoneFlags([1, 0, 0, 0], [0, 0, 0, 1]), { shape: [2, 2] });
device.queue.writeBuffer(buffer, 0, await rewards.read());
const back: Uint32Array<ArrayBuffer> = await flags.read();
const options: GaeOptions = { numEnvs: 2, numSteps: 2, gamma: 0.99, lambda: 0.95, truncationAsTerminal: true };
const gae = await Gae.create(gpu, { rewards, doneFlags: flags, values: GpuArray.zeros(gpu, 'f32', [3, 2]) }, options);
const advantages: Float32Array<ArrayBuffer> = await gae.arrays.advantages.read();
const name: ShaderName = 'gae';
export const checks = [
  describeAdapter(gpu.adapter) + device.label,
  wgsl(name).struct('GaeArgs').paddedSize,
  gaeReference({ ...options, rewards: [1], doneFlags: [1], values: [0, 0], finalValues: [0] }).advantages[0],
  new MlpLayout([4, 2], ['identity']).paramCount,
  back[0] + advantages[0],
  typeof CartPoleVec.create,
  makeTrainer(gpu, resolveConfig({ algo: 'ppo', numEnvs: 8 })),
];
`,
    );
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const module = resolution === 'bundler' ? 'esnext' : 'nodenext';
    const args = [tsc, '--noEmit', '--strict', '--target', 'es2022', '--lib', lib, '--module', module, '--moduleResolution', resolution, file];
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

/** Serves `dir` on 127.0.0.1 (a secure context, as WebGPU needs); resolves to its URL. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css' };
  const server = createServer((request, response) => {
    const path = join(dir, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname).replace(/\/$/, '/index.html'));
    try {
      const body = readFileSync(path);
      response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/** The page's one result line, once #result leaves "running" (SwiftShader compiles the kernels first). */
async function runPage(browser: Browser, dir: string): Promise<{ state: string; text: string; errors: string[] }> {
  const { url, server } = await serve(dir);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    await page.goto(url);
    const result = page.locator('#result');
    await result.and(page.locator('[data-state="done"], [data-state="failed"]')).waitFor({ timeout: 120_000 });
    return { state: (await result.getAttribute('data-state')) ?? '', text: (await result.textContent()) ?? '', errors };
  } finally {
    await page.close();
    server.close();
  }
}

describe('the browser example (examples/browser/) bundled from the installed tarball, default configuration, run in headless Chromium', () => {
  let browser: Browser | null = null;
  const page = join(repoRoot, 'examples', 'browser');
  /** A page folder in the consumer: the example's HTML loading `script` (a bundle). */
  const pageDir = (name: string, script: string) => {
    const dir = join(consumer, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), readFileSync(join(page, 'index.html'), 'utf8').replace('./main.js', script));
    return dir;
  };
  const source = () => {
    const entry = join(consumer, 'browser-main.js');
    copyFileSync(join(page, 'main.js'), entry);
    return entry;
  };
  const bundleCode = (dir: string) =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
  const expectRuns = async (dir: string) => {
    browser ??= await chromium.launch({
      executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const { state, text, errors } = await runPage(browser, dir);
    expect(errors).toEqual([]);
    expect(state, text).toBe('done');
    expect(text).toMatch(/^GAE error \d\.\d\de[-+]\d+; CartPole reward 64 over 64 envs; .*swiftshader/i);
  };

  afterAll(async () => {
    await browser?.close();
  });

  it('Vite: no Node-only code, no webgpu import; the page runs', async () => {
    const dir = join(consumer, 'vite-page');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(page, 'index.html'), join(dir, 'index.html'));
    copyFileSync(join(page, 'main.js'), join(dir, 'main.js'));
    const warnings: string[] = [];
    await build({
      configFile: false,
      root: dir,
      logLevel: 'silent',
      customLogger: { info() {}, warn: (m: string) => warnings.push(m), warnOnce: (m: string) => warnings.push(m), error() {}, clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
      build: { outDir: join(dir, 'dist'), emptyOutDir: true, target: 'es2022' },
    });
    const code = bundleCode(join(dir, 'dist'));
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
    expect(warnings.filter((w) => /externalized|node:/.test(w))).toEqual([]);
    await expectRuns(join(dir, 'dist'));
  }, 240_000);

  it("esbuild --bundle --platform=browser: no Node-only code, no webgpu import; the page runs", async () => {
    const dir = pageDir('esbuild-page', './bundle.js');
    const result = await esbuild({ entryPoints: [source()], bundle: true, platform: 'browser', outfile: join(dir, 'bundle.js'), absWorkingDir: consumer, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.text)).toEqual([]);
    const code = bundleCode(dir);
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
    await expectRuns(dir);
  }, 240_000);

  it('webpack 5, mode production, no configuration beyond entry and output: no Node-only code; the page runs', async () => {
    const dir = pageDir('webpack-page', './main.js');
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      webpack({ mode: 'production', context: consumer, entry: source(), output: { path: dir, filename: 'main.js' } }, (error, result) =>
        error || !result ? reject(error ?? new Error('no stats')) : resolve(result),
      ),
    );
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    expect((info.errors ?? []).map((e) => e.message)).toEqual([]);
    // webpack's only default warnings are about asset size (the bundle carries every kernel's WGSL).
    expect((info.warnings ?? []).map((w) => w.message).filter((m) => !/asset size limit|entrypoint size limit|performance/i.test(m))).toEqual([]);
    const code = bundleCode(dir);
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
    await expectRuns(dir);
  }, 240_000);

  it("Rolldown with platform 'browser': no Node-only code, no webgpu import; the page runs", async () => {
    const dir = pageDir('rolldown-page', './main.js');
    const bundle = await rolldown({ input: source(), platform: 'browser', cwd: consumer, logLevel: 'silent' });
    await bundle.write({ format: 'es', dir, entryFileNames: 'main.js' });
    const code = bundleCode(dir);
    expect(code).toContain('CartPole');
    expect(nodeOnlyTraces(code)).toEqual([]);
    await expectRuns(dir);
  }, 240_000);
});

describe('tree-shaking of the installed tarball', () => {
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
