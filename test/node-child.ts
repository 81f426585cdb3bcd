/**
 * Child processes of plain Node for tests whose subject is the process itself:
 * environment variables read at startup, what is printed, whether it exits.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'vite';

export const repoRoot = resolve(import.meta.dirname, '..');

/**
 * Bundles a TS entry (and what it imports from src/) into one .mjs that plain
 * Node runs; it lands under node_modules/.cache so that `webgpu` resolves.
 */
export async function bundleForNode(entry: string): Promise<string> {
  const cache = join(repoRoot, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, 'webgpu-rl-child-'));
  await build({
    configFile: false,
    logLevel: 'warn',
    root: repoRoot,
    resolve: { alias: [{ find: /^wgsl_reflect$/, replacement: 'wgsl_reflect/wgsl_reflect.module.js' }] },
    ssr: { noExternal: true },
    build: {
      ssr: resolve(repoRoot, entry),
      outDir,
      target: 'node20',
      minify: false,
      rollupOptions: { external: ['webgpu', /^node:/], output: { format: 'es', entryFileNames: 'main.mjs' } },
    },
  });
  return join(outDir, 'main.mjs');
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  seconds: number;
}

/**
 * Runs `node script ...args` in `cwd` with `env` added to this process's
 * environment (a value of undefined removes the variable); kills it after
 * `timeoutMs` and reports that instead of hanging the test.
 */
export function runNode(
  script: string,
  args: string[] = [],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<ChildResult> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const started = performance.now();
  return new Promise((resolveResult, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd ?? repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveResult({ code, stdout, stderr, timedOut, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** The last stdout line of a child that reports one JSON object, with its stderr on failure. */
export function lastJson<T>(result: ChildResult): T {
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`child printed no JSON (exit ${result.code}, timed out ${result.timedOut}):\n${result.stdout}\n${result.stderr}`);
  }
}
