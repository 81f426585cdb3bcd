/**
 * Entry of the Studio page (index.html): wires the panels together. The
 * adapter panel finds the GPU; the form says what to train; Train builds one
 * trainer per selected algorithm (or one population trainer) and hands them to
 * the runner; the runner's reports feed the charts (or the population view),
 * the status line and the throughput; the env view replays one run's (or one
 * agent's) last rollout from its GPU buffers (or, for CartPole, shows its live
 * policy, or a loaded checkpoint's, acting on the CPU). A GPU failure
 * stops everything with a message, and Reset starts again on a new device.
 */
import type { GpuContext } from '../gpu/device';
import { presetConfig, type Algo, type ResolvedConfig } from '../core/config';
import { ENV_IDS, solvedReturn } from '../core/envSpecs';
import { populationSummary, type IterationMetrics } from '../core/metrics';
import { FIELDS } from '../core/config';
import type { AgentField } from '../core/population';
import { initialWeights, makePopulationTrainer, makeTrainer, networkLayouts, type Trainer } from '../train/trainer';
import { showAdapter, showThroughput, deviceCapacity } from './adapterPanel';
import { Controls } from './controls';
import { Charts } from './charts';
import { CartPoleView, type PolicySource } from './cartpoleView';
import { ReplayView, type ReplayLayout } from './replayView';
import { Runner, newLane, newPopulationLane, type Lane, type PopulationLane, type RunnerState } from './runner';
import { PopulationSeries } from './populationSeries';
import { PopulationView } from './populationView';
import { downloadCheckpoint, readCheckpointFile, type LoadedCheckpoint } from './checkpointIO';
import { metricsCsv } from './csv';
import { ALGO_LABELS, cliCommand, formatQuery, parseQuery, selectionFromConfig, validateSelection, type DeviceCapacity, type PopulationSetup } from './studioConfig';
import { download, element, requireElement } from './dom';

/** What the page is doing; `data-state` of the status line. */
type Phase = 'searching' | 'no-gpu' | 'idle' | 'loaded' | 'starting' | RunnerState;

const adapterPanel = requireElement('#adapter');
const status = requireElement('[data-testid="status"]');
const buttons = {
  train: requireElement<HTMLButtonElement>('[data-testid="train"]'),
  pause: requireElement<HTMLButtonElement>('[data-testid="pause"]'),
  stop: requireElement<HTMLButtonElement>('[data-testid="stop"]'),
  reset: requireElement<HTMLButtonElement>('[data-testid="reset"]'),
  csv: requireElement<HTMLButtonElement>('[data-testid="csv"]'),
};
const loadInput = requireElement<HTMLInputElement>('[data-testid="load"]');
const saveButtons = requireElement('#save-buttons');
const filesMessage = requireElement('#files-message');
const cliLines = requireElement('#cli');
const urlNote = requireElement('#url-note');
const viewSelect = requireElement<HTMLSelectElement>('#view-policy');
const agentSelect = requireElement<HTMLSelectElement>('#view-agent');
const agentLabel = requireElement('#view-agent-label');
const chartsRoot = requireElement('#charts');
const populationRoot = requireElement('#population');
const animate = requireElement<HTMLInputElement>('#animate');
const viewMode = requireElement<HTMLSelectElement>('#view-mode');
const viewLayout = requireElement<HTMLSelectElement>('#view-layout');
const replayCanvas = requireElement<HTMLCanvasElement>('#env-view');
const replayCaption = requireElement('#env-view-caption');
const policyCanvas = requireElement<HTMLCanvasElement>('#cartpoles');
const policyCaption = requireElement('#cartpoles-caption');

const controls = new Controls(requireElement('#env-picker'), requireElement('#algos'), requireElement('#preset'), requireElement('#fields'), onFormChange);
const charts = new Charts(chartsRoot);
const populationView = new PopulationView(populationRoot);
const view = new CartPoleView(policyCanvas, policyCaption);
const replay = new ReplayView(replayCanvas, replayCaption);

let gpu: GpuContext | null = null;
let device: DeviceCapacity | null = null;
let runner: Runner | null = null;
let loaded: LoadedCheckpoint | null = null;
let phase: Phase = 'searching';
let failure: string | null = null;
/** The env the charts' solved line is for. */
let chartsEnv: string | null = null;

const number = (v: number) => Math.round(v).toLocaleString('en-US');

/** A population's status: the latest iteration's median, quartiles and best agent. */
function populationStatus(lane: PopulationLane): string {
  const label = `${ALGO_LABELS[lane.algo]} population of ${lane.histories.length}`;
  const last = lane.histories.map((h) => h[h.length - 1]);
  if (!last[0]) return `${label}: starting`;
  const s = populationSummary(last);
  const returns = s.median === null ? 'no episode ended' : `median return ${s.median.toFixed(1)} [${s.q1!.toFixed(1)}, ${s.q3!.toFixed(1)}], best ${s.best!.toFixed(1)} (agent ${s.best_agent})`;
  return `${label}: iteration ${s.iter + 1}, ${number(s.env_steps)} env steps, ${returns}${lane.finished ? ` (${lane.finished})` : ''}`;
}

function laneSummary(algo: Algo, history: readonly IterationMetrics[], finished: string | null): string {
  const last = history[history.length - 1];
  if (!last) return `${ALGO_LABELS[algo]}: starting`;
  const meanReturn = last.mean_return === null ? 'no episode ended' : `mean return ${last.mean_return.toFixed(1)}`;
  return `${ALGO_LABELS[algo]}: iteration ${last.iter + 1}, ${number(last.env_steps)} env steps, ${meanReturn}${finished ? ` (${finished})` : ''}`;
}

const PHASE_TEXT: Record<Phase, string> = {
  searching: 'Looking for a GPU…',
  'no-gpu': 'WebGPU is not available: see the adapter panel for what to do.',
  idle: 'Ready: choose algorithms and press Train.',
  loaded: 'Checkpoint loaded: press Train to continue training from it.',
  starting: 'Starting: compiling kernels…',
  running: 'Running',
  pausing: 'Pausing after the iterations in flight…',
  paused: 'Paused',
  stopping: 'Stopping after the iterations in flight…',
  stopped: 'Stopped',
  failed: 'Stopped by an error',
};

function render(): void {
  const lanes = runner?.lanes ?? [];
  const parts = [PHASE_TEXT[phase]];
  if (phase === 'failed' && failure) parts[0] = `Stopped by an error: ${failure}. Press Reset to start again.`;
  if (lanes.length > 0) parts.push(...lanes.map((lane) => (lane.kind === 'run' ? laneSummary(lane.algo, lane.history, lane.finished) : populationStatus(lane))));
  else if (loaded) parts.push(laneSummary(loaded.config.algo, loaded.checkpoint.history, null));
  status.textContent = parts.join(' · ');
  status.dataset.state = phase;

  const busy = phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  const live = phase === 'running' || phase === 'paused';
  buttons.train.disabled = !(phase === 'idle' || phase === 'loaded' || phase === 'stopped');
  buttons.pause.disabled = !live;
  buttons.pause.textContent = phase === 'paused' ? 'Resume' : 'Pause';
  buttons.stop.disabled = !live;
  buttons.reset.disabled = busy || phase === 'searching' || phase === 'no-gpu';
  buttons.csv.disabled = busy || (!lanes.some((l) => (l.kind === 'run' ? l.history : l.histories[0]).length > 0) && !loaded);
  loadInput.disabled = busy || live || phase === 'failed' || !gpu;
  for (const button of saveButtons.querySelectorAll('button')) button.disabled = phase !== 'paused' && phase !== 'stopped';
  controls.setLocked(busy || live || phase === 'no-gpu');
  showThroughput(adapterPanel, phase === 'running' && runner ? runner.sps : 'idle');
}

function setPhase(next: Phase): void {
  phase = next;
  render();
}

/** What Train would start: one config per algorithm, or a population. */
interface Plan {
  configs: ResolvedConfig[];
  population: PopulationSetup | null;
}

/** Validates the form; writes the URL and the CLI equivalent when it is valid. */
function onFormChange(): Plan | null {
  const selection = controls.selection;
  const { errors, configs, population } = validateSelection(selection, device);
  controls.showErrors(errors);
  if (configs.length === 0) {
    cliLines.textContent = '(none while fields are refused)';
    return null;
  }
  history.replaceState(null, '', formatQuery(selection, device));
  cliLines.replaceChildren(...configs.map((config) => element('code', cliCommand(config, population))));
  // Before a run or a checkpoint fills them, the charts follow the env picked.
  if (!runner && !loaded && configs[0].env !== chartsEnv) startCharts(selection.algos, null, configs[0].env);
  return { configs, population };
}

/** Empties the charts for `algos` on `env` (its solved return drawn where it has one). */
function startCharts(algos: readonly Algo[], trpoMaxKl: number | null, env: string | null): void {
  chartsEnv = env;
  charts.start(algos, trpoMaxKl, solvedLine(env));
  showPopulationView(false);
}

function solvedLine(env: string | null): number | null {
  return env !== null && ENV_IDS.includes(env) ? solvedReturn(env) : null;
}

/** The population view replaces the per-algorithm charts while a population is shown. */
function showPopulationView(shown: boolean): void {
  populationRoot.hidden = !shown;
  chartsRoot.hidden = shown;
}

/** Empties the population view for `lane`'s agents: the scatter offers the swept, then the PBT-explored fields. */
function startPopulationView(lane: PopulationLane, swept: readonly AgentField[]): void {
  const fields = [...new Set<AgentField>([...swept.filter((f) => f !== 'seed'), ...(lane.pbt?.perturb ?? [])])];
  chartsEnv = lane.trainer.config.env;
  populationView.start(new PopulationSeries(lane.trainer.configs), fields, solvedLine(chartsEnv));
  showPopulationView(true);
}

/** The agent picker: every agent, named by its seed and swept values. */
function offerAgents(lane: PopulationLane | null, swept: readonly AgentField[] = []): void {
  agentSelect.replaceChildren();
  agentLabel.hidden = !lane;
  if (!lane) return;
  lane.trainer.configs.forEach((config, k) => {
    const values = swept.filter((f) => f !== 'seed').map((f) => `${FIELDS[f].flag} ${Number(config[f].toPrecision(4))}`);
    agentSelect.append(new Option([`agent ${k}`, `seed ${config.seed}`, ...values].join(' · '), String(k)));
  });
}

/** A run's policy for the view; `startWeights` are its weights before the first iteration, if known. */
function liveSource(lane: Lane & { kind: 'run' }, startWeights: Float32Array | null = null): PolicySource {
  return { layout: lane.trainer.policy.layout, params: lane.trainer.policy.params, weights: startWeights };
}

/**
 * The view's choices: each run's live policy, or the loaded checkpoint. At the
 * start of a run the first lane's starting weights are shown at once (the first
 * readback waits behind the first iterations).
 */
function offerViewSources(startWeights: Float32Array | null = null): void {
  viewSelect.replaceChildren();
  if (runner) for (const lane of runner.lanes) viewSelect.append(new Option(`${ALGO_LABELS[lane.algo]}${lane.kind === 'population' ? ' population' : ''} (live)`, lane.algo));
  else if (loaded) viewSelect.append(new Option(`${ALGO_LABELS[loaded.config.algo]} checkpoint`, 'checkpoint'));
  viewSelect.disabled = viewSelect.options.length < 2;
  followSelected(startWeights);
}

/**
 * Shows the chosen run in the chosen way: its last rollout replayed from the
 * GPU, or (CartPole only) its policy acting on the CPU. A loaded checkpoint has
 * no rollout yet, so it shows its policy.
 */
function followSelected(startWeights: Float32Array | null = null): void {
  const lane = runner?.lanes.find((l) => l.algo === viewSelect.value);
  const env = lane?.trainer.config.env ?? loaded?.config.env ?? null;
  const policyOption = viewMode.querySelector<HTMLOptionElement>('option[value="policy"]')!;
  // A population's agents are followed in its rollout replay.
  policyOption.disabled = (env !== null && env !== 'CartPole-v1') || lane?.kind === 'population';
  if (!lane && loaded) viewMode.value = 'policy';
  else if (policyOption.disabled) viewMode.value = 'replay';
  const showPolicy = viewMode.value === 'policy';
  viewLayout.disabled = showPolicy;
  for (const [node, shown] of [[replayCanvas, !showPolicy], [replayCaption, !showPolicy], [policyCanvas, showPolicy], [policyCaption, showPolicy]] as const) node.hidden = !shown;
  if (showPolicy) {
    replay.show(null);
    if (lane?.kind === 'run') view.follow(liveSource(lane, startWeights), `${ALGO_LABELS[lane.algo]}'s current policy`, lane.trainer.config.env);
    else if (loaded && viewSelect.value === 'checkpoint') {
      const { checkpoint, config, filename } = loaded;
      view.follow({ layout: networkLayouts(config).policy, weights: checkpoint.arrays.policy }, `${ALGO_LABELS[config.algo]} from ${filename} (iteration ${checkpoint.iteration})`, config.env);
    } else view.follow(null, '');
    return;
  }
  view.follow(null, '');
  if (lane) {
    const { trainer } = lane;
    const ready = () => trainer.iteration > lane.firstIteration;
    if (lane.kind === 'run') replay.show({ replay: trainer.replay, ready, label: `${ALGO_LABELS[lane.algo]} on ${trainer.config.env}` });
    else {
      const agent = Number(agentSelect.value || 0);
      replay.show({ replay: trainer.replay, ready, agent, label: `${ALGO_LABELS[lane.algo]} agent ${agent} (seed ${lane.trainer.configs[agent].seed}) on ${trainer.config.env}` });
    }
  } else replay.show(null);
}

/** Stops drawing the runs' buffers, then frees them. */
function destroyRunner(): void {
  replay.show(null);
  runner?.destroy();
  runner = null;
}

function showSaveButtons(): void {
  saveButtons.replaceChildren();
  for (const lane of runner?.lanes ?? []) {
    const button = element('button', `Download ${ALGO_LABELS[lane.algo]}${lane.kind === 'population' ? ' population' : ''} checkpoint`);
    button.type = 'button';
    button.dataset.testid = `save-${lane.algo}`;
    button.addEventListener('click', () => {
      filesMessage.textContent = 'Reading the checkpoint from the GPU…';
      downloadCheckpoint(lane).then(
        (filename) => (filesMessage.textContent = `Saved ${filename}.`),
        (error: Error) => (filesMessage.textContent = `Could not save: ${error.message}`),
      );
    });
    saveButtons.append(button);
  }
}

async function train(): Promise<void> {
  const plan = onFormChange();
  if (!plan || !gpu) {
    status.textContent = 'Not started: fix the fields marked in red.';
    status.dataset.state = 'invalid';
    return;
  }
  destroyRunner();
  if (plan.population) {
    await trainPopulation(gpu, plan.population);
    return;
  }
  setPhase('starting');
  const lanes: Lane[] = [];
  for (const config of plan.configs) {
    controls.setAlgoNote(config.algo, null);
    let trainer: Trainer | null = null;
    try {
      trainer = await makeTrainer(gpu, config);
      const resume = loaded?.config.algo === config.algo ? loaded.checkpoint : null;
      if (resume) await trainer.restore(resume);
      lanes.push(newLane(config.algo, trainer, resume ? [...resume.history] : []));
    } catch (error) {
      trainer?.destroy();
      if (phase === 'failed') return;
      controls.setAlgoNote(config.algo, (error as Error).message);
    }
  }
  if (phase === 'failed') return;
  if (lanes.length === 0) {
    setPhase(loaded ? 'loaded' : 'idle');
    status.textContent = 'Could not start any algorithm: see the notes beside them.';
    return;
  }
  const trpo = lanes.find((l) => l.algo === 'trpo');
  startCharts(
    lanes.map((l) => l.algo),
    trpo ? trpo.trainer.config.maxKl : null,
    lanes[0].trainer.config.env,
  );
  for (const lane of lanes) if (lane.kind === 'run') for (const m of lane.history) charts.append(lane.algo, m);
  startRunner(lanes);
  const first = lanes[0];
  const startWeights = first.kind === 'run' && first.history.length > 0 && loaded ? loaded.checkpoint.arrays.policy : initialWeights(first.trainer.config).policy;
  loaded = null;
  showSaveButtons();
  offerAgents(null);
  offerViewSources(startWeights);
  runner!.run();
}

/** A population in one lane: every agent in each step, the population view instead of the charts. */
async function trainPopulation(context: GpuContext, population: PopulationSetup): Promise<void> {
  const config = population.plan.agents[0];
  controls.setAlgoNote(config.algo, null);
  if (loaded) {
    controls.setAlgoNote(config.algo, 'a population starts fresh: press Reset to put the loaded checkpoint away first.');
    status.textContent = 'Could not start the population: see the note beside the algorithm.';
    return;
  }
  setPhase('starting');
  let lane: PopulationLane;
  try {
    const trainer = await makePopulationTrainer(context, population.plan.agents, population.pbt ? { pbt: population.pbt } : {});
    lane = newPopulationLane(config.algo, trainer, population.pbt);
  } catch (error) {
    if (phase === 'failed') return;
    controls.setAlgoNote(config.algo, (error as Error).message);
    setPhase('idle');
    status.textContent = 'Could not start the population: see the note beside the algorithm.';
    return;
  }
  if (phase === 'failed') {
    lane.trainer.destroy();
    return;
  }
  startPopulationView(lane, population.plan.swept);
  startRunner([lane]);
  showSaveButtons();
  offerAgents(lane, population.plan.swept);
  offerViewSources();
  runner!.run();
}

/** The runner over `lanes`, its reports feeding the charts or the population view. */
function startRunner(lanes: Lane[]): void {
  runner = new Runner(lanes, {
    metrics(lane, agents) {
      if (lane.kind === 'run') charts.append(lane.algo, agents[0]);
      else populationView.append(agents);
      render();
    },
    state(state) {
      // A settled run's charts show every iteration it reported, without waiting for a frame.
      if (state === 'paused' || state === 'stopped') {
        charts.flush();
        populationView.flush();
      }
      // Failures arrive through error(), with their message.
      if (state !== 'failed' && phase !== 'failed') setPhase(state);
    },
    error(error) {
      fail(error);
    },
  });
}

/** Stops everything with the error's message; the device's own report (loss, GPU error) wins over its symptoms. */
function fail(error: Error, fromDevice = false): void {
  if (phase === 'failed') {
    if (fromDevice) failure = error.message;
    render();
    return;
  }
  failure = error.message;
  runner?.abort();
  view.attach(null);
  replay.attach(null);
  setPhase('failed');
}

async function connect(): Promise<void> {
  setPhase('searching');
  gpu = await showAdapter(adapterPanel, (error) => fail(error, true));
  device = gpu ? deviceCapacity(gpu) : null;
  controls.setDevice(device);
  view.attach(gpu);
  replay.attach(gpu);
  onFormChange();
  setPhase(gpu ? 'idle' : 'no-gpu');
}

async function reset(): Promise<void> {
  if (runner) {
    if (phase !== 'failed') await runner.stop();
    destroyRunner();
  }
  loaded = null;
  showSaveButtons();
  offerAgents(null);
  offerViewSources();
  filesMessage.textContent = '';
  const configs = onFormChange()?.configs;
  startCharts(controls.selection.algos, configs?.find((c) => c.algo === 'trpo')?.maxKl ?? null, configs?.length ? configs[0].env : null);
  if (phase === 'failed') {
    failure = null;
    gpu?.destroy();
    gpu = null;
    await connect();
  } else setPhase('idle');
}

async function load(file: File): Promise<void> {
  filesMessage.textContent = `Reading ${file.name}…`;
  let result: LoadedCheckpoint;
  try {
    result = await readCheckpointFile(file);
  } catch (error) {
    filesMessage.textContent = `Not loaded: ${(error as Error).message}`;
    return;
  }
  if (runner) {
    await runner.stop();
    destroyRunner();
  }
  loaded = result;
  offerAgents(null);
  controls.selection = selectionFromConfig(result.config);
  onFormChange();
  startCharts([result.config.algo], result.config.algo === 'trpo' ? result.config.maxKl : null, result.config.env);
  for (const m of result.checkpoint.history) charts.append(result.config.algo, m);
  showSaveButtons();
  offerViewSources();
  filesMessage.textContent = `Loaded ${result.filename}: ${ALGO_LABELS[result.config.algo]} at iteration ${result.checkpoint.iteration}.`;
  setPhase('loaded');
}

/** Runs an event handler; anything it throws is shown, never left to the console. */
function handle(action: () => Promise<void>): () => void {
  return () => {
    action().catch((error: Error) => fail(error));
  };
}

requireElement<HTMLFormElement>('#controls').addEventListener('submit', (event) => {
  event.preventDefault();
  handle(train)();
});
buttons.pause.addEventListener(
  'click',
  handle(async () => {
    if (phase === 'paused') runner?.run();
    else await runner?.pause();
  }),
);
buttons.stop.addEventListener('click', handle(async () => runner?.stop()));
buttons.reset.addEventListener('click', handle(reset));
buttons.csv.addEventListener('click', () => {
  const runs: { algo: string; agent?: number; history: readonly IterationMetrics[] }[] = runner
    ? runner.lanes.flatMap((lane) => (lane.kind === 'run' ? [{ algo: lane.algo, history: lane.history }] : lane.histories.map((history, agent) => ({ algo: lane.algo, agent, history }))))
    : loaded
      ? [{ algo: loaded.config.algo, history: loaded.checkpoint.history }]
      : [];
  download('webgpu-rl-metrics.csv', metricsCsv(runs), 'text/csv');
});
loadInput.addEventListener('change', () => {
  const file = loadInput.files?.[0];
  loadInput.value = '';
  if (file) handle(() => load(file))();
});
viewSelect.addEventListener('change', () => followSelected());
agentSelect.addEventListener('change', () => followSelected());
viewMode.addEventListener('change', () => followSelected());
viewLayout.addEventListener('change', () => replay.setLayout(viewLayout.value as ReplayLayout));
animate.addEventListener('change', () => {
  view.setAnimate(animate.checked);
  replay.setAnimate(animate.checked);
});

const { selection, ignored } = parseQuery(location.search);
controls.selection = selection;
urlNote.textContent = ignored.length ? `Ignored in the URL: ${ignored.join(', ')}` : '';
urlNote.hidden = ignored.length === 0;
startCharts(selection.algos, null, selection.values.env ?? presetConfig(selection.preset).env);
setInterval(() => {
  if (phase === 'running') render();
}, 1000);
void connect();
