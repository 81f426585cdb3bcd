/**
 * The benchmark page: exposes `window.webgpuRlBench.runCase(name, options)`,
 * which runs a case of bench/lib with the page's WebGPU and resolves to its
 * record. bench/lib/browser.ts drives it; `[bench]` console lines are progress.
 */
import { requestGpu } from '../../src/gpu/device';
import { runCase } from '../lib/cases';
import type { BenchOptions } from '../lib/options';
import type { BenchRecord } from '../lib/types';

const status = document.getElementById('status')!;

const api = {
  async runCase(name: string, options: BenchOptions): Promise<BenchRecord> {
    status.textContent = `Running ${name}…`;
    const record = await runCase(name, options, 'browser', () => requestGpu({ quiet: true }), (line) => console.log(`[bench] ${line}`));
    status.textContent = `Finished ${name}.`;
    return record;
  },
};

(window as unknown as { webgpuRlBench: typeof api }).webgpuRlBench = api;
status.textContent = navigator.gpu ? 'Ready.' : 'Ready, but navigator.gpu is missing (not a secure context, or WebGPU disabled).';
document.body.dataset.state = 'ready';
