/**
 * (e) Training: every example graph in graphs/ that has a Trainer, trained from its seeded init
 * (builders' `weights` cleared, as `npm run train:examples` starts) on the bench's backend.
 *
 *   steps/s     one runtime per example; after WARMUP steps (building, first kernels, the gradient
 *               probe), STEPS more are timed in one train() call; steps/s = STEPS / seconds.
 *               A "step" is one iteration of the trainer: every optimizer stepped once.
 *   memory      MEMORY_STEPS further steps (default 1,000; WEFT_BENCH_MEMORY_STEPS overrides) in
 *               chunks of 100, tf.memory().numTensors read after each chunk. Flat means the
 *               readings after the first chunk are all equal; growth fails the bench (a leak of
 *               one tensor per step would show as +100 per chunk).
 *
 * WEFT_BENCH_TRAIN_STEPS changes STEPS (default 20); WEFT_BENCH_EXAMPLES=a,b picks examples.
 * The examples' own batch sizes are used: the figures are what a user training the example sees.
 */
import { readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { createRuntime, type GraphDoc } from '../../src/index.ts';
import { fromSeeds, GRAPHS } from '../../src/nodes/examples-testing.ts';
import { BenchCheckError, round, type BenchContext, type Row } from '../lib.ts';

const WARMUP = 3;
const STEPS = Number(process.env.WEFT_BENCH_TRAIN_STEPS ?? 20);
const MEMORY_STEPS = Number(process.env.WEFT_BENCH_MEMORY_STEPS ?? 1000);
const CHUNK = 100;
/** WEFT_BENCH_EXAMPLES=a,b limits the section to those examples (file names without .json). */
const ONLY = process.env.WEFT_BENCH_EXAMPLES?.split(',').filter(Boolean);

/** The example graphs that train, from their seeds. */
function trainingExamples(): Array<{ name: string; doc: GraphDoc }> {
  const out: Array<{ name: string; doc: GraphDoc }> = [];
  for (const file of readdirSync(GRAPHS).filter((f) => f.endsWith('.json')).sort()) {
    if (ONLY && !ONLY.includes(file.replace(/\.json$/, ''))) continue;
    const doc = fromSeeds(file);
    if (!doc.nodes.some((n) => n.type === 'Trainer')) continue;
    out.push({ name: file.replace(/\.json$/, ''), doc });
  }
  return out;
}

export async function trainingSpeed(ctx: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  const examples = trainingExamples();
  if (!examples.length) throw new BenchCheckError('no example graph in graphs/ has a Trainer');
  for (const { name, doc } of examples) {
    const rt = await createRuntime({ backend: ctx.backend });
    try {
      const base = { baseDir: GRAPHS.pathname };
      await rt.train(doc, { ...base, steps: WARMUP });
      const t0 = performance.now();
      const timed = await rt.train(doc, { ...base, steps: STEPS, startStep: WARMUP });
      const seconds = (performance.now() - t0) / 1000;
      const optimizers = Object.keys(timed.history[0]?.losses ?? {});
      console.error(`training bench: ${name}: ${round(STEPS / seconds, 3)} steps/s; now ${MEMORY_STEPS} steps for memory`);
      rows.push({ section: 'training', metric: `${name}: steps/s`, value: round(STEPS / seconds, 3), note: `${STEPS} steps after ${WARMUP} warm-up; ${optimizers.length} optimizer${optimizers.length === 1 ? '' : 's'} per step (${optimizers.join(', ')})` });

      const readings: number[] = [];
      for (let done = 0; done < MEMORY_STEPS; done += CHUNK) {
        await rt.train(doc, { ...base, steps: Math.min(CHUNK, MEMORY_STEPS - done), startStep: WARMUP + STEPS + done });
        readings.push(tf.memory().numTensors);
      }
      const after = readings.slice(1);
      const flat = after.every((r) => r === after[0]);
      rows.push({
        section: 'training',
        metric: `${name}: tensors over ${MEMORY_STEPS} steps`,
        value: readings.length > 1 ? `${readings[0]} -> ${readings[readings.length - 1]}` : String(readings[0] ?? '-'),
        target: 'flat',
        ok: flat,
        note: `numTensors every ${CHUNK} steps: ${readings.join(' ')}`,
      });
      if (!flat) throw new BenchCheckError(`${name}: tensors grow while training (${readings.join(' ')})`);
    } finally {
      rt.dispose();
    }
  }
  return rows;
}
