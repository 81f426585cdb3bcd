/** What a benchmark case is given and what it returns (shared by both runners; browser-safe). */
import type { AdapterDescription, GpuContext } from '../../src/gpu/device';
import type { BenchOptions, RunnerName } from './options';
import type { KernelProfile } from './profile';
import type { AbItem } from './ab';
import type { TrainConfig } from '../../src/core/config';
import type { Variant } from './variants';

export interface CaseContext {
  gpu: GpuContext;
  options: BenchOptions;
  runner: RunnerName;
  /** A progress line (Node: stderr; browser: the console, forwarded to Node's stderr). */
  log(line: string): void;
}

/** One measured configuration of a case: its settings and figures (snake_case, as in the CLI's JSON). */
export type Point = Record<string, number | string | boolean | null | Record<string, unknown> | unknown[]>;

export type Unit = 'sps' | 'gflops' | 'ms' | 'wall_s';

export interface CaseOutcome {
  /** The figure this case is judged by; the record's headline is the best point's. */
  unit: Unit;
  points: Point[];
  /** Index of the headline point (default: the best by unit: highest sps or gflops, lowest ms or wall_s). */
  headline?: number;
  /** How the figures were timed, in words. */
  timing: string;
  /** Per-kernel GPU times by call (where timestamp-query exists and profiling is on). */
  profiles?: { what: string; profile: KernelProfile }[];
  notes?: string[];
  /** Set instead of points when the case cannot run here (e.g. an algorithm not in this build). */
  unavailable?: string;
}

export interface BenchCase {
  name: string;
  /** What it measures, one line. */
  about: string;
  run(ctx: CaseContext): Promise<CaseOutcome>;
}

/** One JSON object per case and runner (the --json line and the saved record). */
export interface BenchRecord {
  case: string;
  runner: RunnerName;
  adapter: string;
  adapter_info: AdapterDescription | null;
  features: string[];
  /** The device's storage buffers per shader stage (which chains and pairs it runs; browsers 10). */
  storage_buffers: number | null;
  toggles: string[];
  /** The MLP kernel shape forced by --variant (null: the adapter's default). */
  variant: string | null;
  unit: Unit | null;
  sps?: number;
  gflops?: number;
  ms?: number;
  wall_s?: number;
  /** Which point the headline figure comes from. */
  headline: Point | null;
  points: Point[];
  timing: string;
  profiles?: CaseOutcome['profiles'];
  notes?: string[];
  unavailable?: string;
  error?: string;
  /** Seconds the case took, setup included. */
  case_s: number;
  /** Host load averages (1, 5, 15 min) when the case started and ended, from Node's os.loadavg(). */
  load_start?: number[];
  load_end?: number[];
  started_at: string;
}

/** What the bench page exposes as `window.webgpuRlBench`. */
export interface BenchPageApi {
  runCase(name: string, options: BenchOptions): Promise<BenchRecord>;
  /** Paired A/B in the page: A as shipped, B with `variant` (Dawn toggles are browser-wide, so not here). */
  /** Side B gets each of `variants` (A the adapter's defaults). */
  ab(variants: Variant[], config: Partial<TrainConfig>, pairs: number): Promise<{ adapter: string; items: AbItem[] }>;
}
