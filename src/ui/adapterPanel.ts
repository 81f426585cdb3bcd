/**
 * The adapter panel: which GPU the Studio runs on, the limits that bound a
 * run's size, the current training throughput, a warning when it is a CPU
 * fallback, and what to do when there is no WebGPU at all. `data-state` on the
 * panel (searching, ready, unavailable, failed) is what e2e tests wait on.
 */
import { requestGpu, type GpuContext } from '../gpu/device';
import { trainerLimits } from '../train/trainer';
import { deviceScale, maxEnvs, type DeviceCapacity } from './studioConfig';
import { compact } from './charts';
import { element } from './dom';

const BACKEND_NAMES: Record<string, string> = { swiftshader: 'SwiftShader', lavapipe: 'lavapipe' };

function definitionList(rows: [string, string][]): HTMLDListElement {
  const list = element('dl');
  for (const [term, value] of rows) list.append(element('dt', term), element('dd', value || 'not reported'));
  return list;
}

function unavailableHelp(message: string): HTMLElement[] {
  const help = element('ul');
  const steps = window.isSecureContext
    ? [
        'Use a browser with WebGPU: a recent Chrome or Edge (113 or later); caniuse.com/webgpu lists the others.',
        'On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu, or a start with --enable-unsafe-webgpu.',
        'Check that hardware acceleration is on (chrome://gpu shows the WebGPU status).',
        'Without a browser, train from the command line: npm run train.',
      ]
    : [`WebGPU only exists on secure pages: open this page at http://localhost or http://127.0.0.1 (npm run dev), or over https.`];
  for (const step of steps) help.append(element('li', step));
  return [element('p', message, 'notice error'), element('p', 'What to do:'), help];
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20).toLocaleString('en-US')} MiB`;
}

/** The device's limits as the trainer checks them (its MLP kernels' buffers included), and whether it is a CPU fallback. */
export function deviceCapacity(gpu: GpuContext): DeviceCapacity {
  return { isFallback: gpu.adapter.isFallback, ...trainerLimits(gpu, 1) };
}

/**
 * Finds the GPU and describes it in `panel`; resolves to null when there is
 * none. `onError` is called once if the device is later lost or fails.
 */
export async function showAdapter(panel: HTMLElement, onError: (error: Error) => void): Promise<GpuContext | null> {
  const title = element('h2', 'GPU adapter');
  panel.dataset.state = 'searching';
  panel.replaceChildren(title, element('p', 'Looking for a WebGPU adapter…'));
  let gpu: GpuContext;
  try {
    gpu = await requestGpu({
      onError: (error) => {
        panel.dataset.state = 'failed';
        panel.append(element('p', `${error.message}. Press Reset to start again on a new device.`, 'notice error'));
        onError(error);
      },
    });
  } catch (error) {
    panel.dataset.state = 'unavailable';
    panel.replaceChildren(title, ...unavailableHelp((error as Error).message));
    return null;
  }
  const { adapter, limits } = gpu;
  const features = ['timestamp-query', 'subgroups'].filter((f) => gpu.features.has(f));
  const capacity = deviceCapacity(gpu);
  const { stepsPerEnv } = deviceScale(capacity);
  const list = definitionList([
    ['Vendor', adapter.vendor],
    ['Architecture', adapter.architecture],
    ['Description', adapter.description],
    ['Optional features', features.length ? features.join(', ') : 'none'],
    [
      'Limits used',
      `storage binding ${mebibytes(limits.maxStorageBufferBindingSize)}, buffer ${mebibytes(limits.maxBufferSize)}, ` +
        `${limits.maxComputeWorkgroupsPerDimension.toLocaleString('en-US')} workgroups per dimension`,
    ],
    ['Largest run', `${maxEnvs(capacity, stepsPerEnv, 64).toLocaleString('en-US')} envs at ${stepsPerEnv} steps per env (hidden 64)`],
    ['Training throughput', 'idle'],
  ]);
  list.lastElementChild!.setAttribute('data-testid', 'sps');
  panel.replaceChildren(title, list);
  panel.dataset.fallback = String(adapter.isFallback);
  if (adapter.isFallback) {
    const name = BACKEND_NAMES[adapter.backend] ?? 'software renderer';
    panel.append(element('p', `CPU fallback: ${name} — a GPU is much faster`, 'notice'));
  }
  panel.dataset.state = 'ready';
  return gpu;
}

/** Shows the current env steps per second over all runs ('idle' when not training, null while measuring). */
export function showThroughput(panel: HTMLElement, sps: number | null | 'idle'): void {
  const cell = panel.querySelector('[data-testid="sps"]');
  if (cell) cell.textContent = sps === 'idle' ? 'idle' : sps === null ? 'measuring…' : `${compact(sps)} env steps/s`;
}
