/**
 * What an entry of `npm run train:examples` is. Each file in this folder (other than this one and
 * files starting with "_") default-exports one Example; scripts/train-examples.ts finds them, so a
 * new example is a new file here, nothing else to edit.
 */
import type { GraphDoc, Runtime, TrainStep } from '../../src/index.ts';

export interface EvalContext {
  rt: Runtime;
  /** The graph as shipped, its weights params naming the files just written. */
  doc: GraphDoc;
  /** The graph's folder: weights paths resolve against it. */
  baseDir: string;
  history: TrainStep[];
}

export interface Example {
  /** The name on the command line: `npm run train:examples -- vae gan`. */
  name: string;
  /** The graph, relative to the repository root. */
  graph: string;
  /** Training steps (the graph's Trainer iterations when absent). */
  steps?: number;
  /** Examples run in ascending order (default 100); the judge (0) goes first, since others' scores use it. */
  order?: number;
  /** Param overrides for training only, as `weft train --set node.param=value` (node id -> param -> value). */
  set?: Record<string, Record<string, unknown>>;
  /** Figures of the trained model for docs/training.md (scores, test losses), with fixed seeds. */
  evaluate?: (ctx: EvalContext) => Promise<Record<string, number | string>>;
}
