/**
 * The adapter panel: which GPU the Studio runs on, a warning when it is a CPU
 * fallback, and what to do when there is no WebGPU at all. `data-state` on the
 * panel (searching, ready, unavailable, failed) is what e2e tests wait on.
 */
import { requestGpu, type GpuContext } from '../gpu/device';

const BACKEND_NAMES: Record<string, string> = { swiftshader: 'SwiftShader', lavapipe: 'lavapipe' };

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

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

/** Finds the GPU and describes it in `panel`; resolves to null when there is none. */
export async function showAdapter(panel: HTMLElement): Promise<GpuContext | null> {
  const title = element('h2', 'GPU adapter');
  panel.dataset.state = 'searching';
  let gpu: GpuContext;
  try {
    gpu = await requestGpu({
      onError: (error) => {
        panel.dataset.state = 'failed';
        panel.append(element('p', `${error.message}. Reload the page to start again.`, 'notice error'));
      },
    });
  } catch (error) {
    panel.dataset.state = 'unavailable';
    panel.replaceChildren(title, ...unavailableHelp((error as Error).message));
    return null;
  }
  const { adapter } = gpu;
  const features = ['timestamp-query', 'subgroups'].filter((f) => gpu.features.has(f));
  panel.replaceChildren(
    title,
    definitionList([
      ['Vendor', adapter.vendor],
      ['Architecture', adapter.architecture],
      ['Description', adapter.description],
      ['Optional features', features.length ? features.join(', ') : 'none'],
    ]),
  );
  panel.dataset.fallback = String(adapter.isFallback);
  if (adapter.isFallback) {
    const name = BACKEND_NAMES[adapter.backend] ?? 'software renderer';
    panel.append(element('p', `CPU fallback: ${name} — a GPU is much faster`, 'notice'));
  }
  panel.dataset.state = 'ready';
  return gpu;
}
