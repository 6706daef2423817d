/** Shared by the MNIST examples: the judge's score of 1,000 prior samples (seed 1234), as the shipped-weights tests check it. */
import { loadJudge, SCORE_SAMPLES, SCORE_SEED, scorePriorSamples } from '../../src/eval.ts';
import type { EvalContext } from './example.ts';

export async function priorScore({ rt, doc, baseDir }: EvalContext): Promise<Record<string, number | string>> {
  const judge = await loadJudge();
  try {
    const { score, histogram } = await scorePriorSamples(rt, judge, doc, { n: SCORE_SAMPLES, seed: SCORE_SEED, baseDir });
    return { [`judge score of ${SCORE_SAMPLES} prior samples (seed ${SCORE_SEED})`]: score, 'judged classes 0..9': histogram.join(' ') };
  } finally {
    judge.dispose();
  }
}
