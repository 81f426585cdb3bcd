/**
 * The benchmark page: exposes `window.webgpuRlBench` (BenchPageApi), which runs
 * a case of bench/lib with the page's WebGPU and resolves to its record, or a
 * paired A/B of a kernel variant. bench/lib/browser.ts drives it; `[bench]`
 * console lines are progress.
 */
import { describeAdapter, requestGpu } from '../../src/gpu/device';
import { resolveConfig } from '../../src/core/config';
import { runCase } from '../lib/cases';
import { abCompare } from '../lib/ab';
import { applyVariant } from '../lib/variants';
import type { BenchPageApi } from '../lib/types';
import { setCpuClock } from '../lib/timing';

const status = document.getElementById('status')!;
const log = (line: string) => console.log(`[bench] ${line}`);

const api: BenchPageApi = {
  async runCase(name, options) {
    status.textContent = `Running ${name}…`;
    const record = await runCase(name, options, 'browser', () => requestGpu({ quiet: true }), log);
    status.textContent = `Finished ${name}.`;
    return record;
  },
  async ab(variants, config, pairs) {
    const variant = variants.join('+');
    status.textContent = `A/B of ${variant}…`;
    const sides = await Promise.all([requestGpu({ quiet: true }), requestGpu({ quiet: true })]);
    try {
      for (const v of variants) await applyVariant(sides[1], v);
      const items = await abCompare([sides[0], sides[1]], resolveConfig(config), pairs, log);
      return { adapter: describeAdapter(sides[0].adapter), items };
    } finally {
      for (const gpu of sides) gpu.destroy();
      status.textContent = `Finished the A/B of ${variant}.`;
    }
  },
};

// CPU seconds of the browser's processes, read by the host (bench/lib/cpu.ts) where it can.
const hostCpu = (window as unknown as { webgpuRlHostCpu?: () => Promise<number | null> }).webgpuRlHostCpu;
if (hostCpu && (await hostCpu()) !== null) setCpuClock(async () => (await hostCpu()) as number);

(window as unknown as { webgpuRlBench: BenchPageApi }).webgpuRlBench = api;
status.textContent = navigator.gpu ? 'Ready.' : 'Ready, but navigator.gpu is missing (not a secure context, or WebGPU disabled).';
document.body.dataset.state = 'ready';
