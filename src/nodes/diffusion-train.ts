/**
 * What training a text-conditioned diffusion model needs besides AddNoise and UNetPredict: a fresh
 * timestep per batch item, and prompts dropped now and then so one network learns both the
 * conditional and the unconditional model that classifier-free guidance combines.
 *
 *   RandomTimesteps   t_i ~ U{0, …, T − 1} for every item i of the batch: the simplified objective
 *                     of Ho et al. 2020 (Algorithm 1), L = E_{t, x0, ε} ‖ε − ε_θ(√ᾱ_t·x0 + √(1−ᾱ_t)·ε, t)‖²,
 *                     whose expectation over t one batch estimates with one t per item
 *   PromptDropout     c_i ← ∅ with probability p (Ho & Salimans 2022, "Classifier-Free Diffusion
 *                     Guidance", Algorithm 1, p_uncond; they and Rombach et al. 2022 use 0.1–0.2):
 *                     here ∅ is the empty prompt "", so at sampling time the negative context is the
 *                     text encoder's embedding of "" (connect Text "" → EncodeText → Sampler.negative)
 *
 * Both draw from plain-JS generators (data/prng.ts) seeded with stepSeed(seed, step): every
 * training step gets fresh draws, a run replays exactly, and every backend sees the same numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, int, number, scheduler, seedParam, shapeError, stepSeed, tensor, text, textParam, type PortType } from '../runtime/index.ts';
import { hashInts, mulberry32 } from './data/prng.ts';
import type { SchedulerSpec } from './schedulers/index.ts';

const tensorType = (t: PortType | PortType[] | undefined) => (t && !Array.isArray(t) && t.kind === 'tensor' ? t : undefined);

/** n draws of ⌊u·T⌋, u ~ U[0, 1): integers 0 … T − 1, each equally likely (up to 2^−32). */
export function randomTimesteps(n: number, T: number, seed: number): Int32Array {
  const rand = mulberry32(hashInts(seed, 0x7473)); // 'ts': apart from other users of the same seed
  return Int32Array.from({ length: n }, () => Math.floor(rand() * T));
}

/** Which of n prompts to drop: each independently with probability p. */
export function dropMask(n: number, p: number, seed: number): boolean[] {
  const rand = mulberry32(hashInts(seed, 0x7064)); // 'pd'
  return Array.from({ length: n }, () => rand() < p);
}

export const RandomTimesteps = defineNode({
  type: 'RandomTimesteps',
  category: 'diffusion',
  title: 'Random Timesteps',
  doc:
    'One training timestep per batch item, uniform over 0 … T − 1 (Ho et al. 2020, Algorithm 1), as int32 [N]: feed it ' +
    'to AddNoise.t and UNetPredict.timestep. T is the connected scheduler’s num_train_timesteps (else the param); N is ' +
    'the batch of the `like` input (else the count param). In training every step draws afresh from (seed, step).',
  inputs: {
    like: tensor(undefined, { optional: true, doc: 'any tensor [N, …] (the clean latents): N timesteps, one per item' }),
    scheduler: scheduler({ optional: true, doc: 'a Scheduler: T = its num_train_timesteps' }),
  },
  outputs: { t: tensor(undefined, { dtype: 'int32', doc: 'timesteps [N], integers in 0 … T − 1' }) },
  params: {
    count: int(1, { min: 1, max: 100_000, doc: 'N when the like input is open' }),
    numTrainTimesteps: int(1000, { min: 1, max: 10_000, doc: 'T when the scheduler input is open' }),
    seed: seedParam(0, { doc: 'the same seed and step give the same timesteps on every backend' }),
  },
  stochastic: true, // step k draws from stepSeed(seed, k)
  infer: ({ inputs, params }) => {
    const like = tensorType(inputs.like);
    if (like?.shape && like.shape.length === 0) shapeError('like', 'needs a batch dimension: [N, …], got a scalar');
    const n = like ? (like.shape?.[0] ?? null) : params.count;
    return { t: tensor([n], { dtype: 'int32' }) };
  },
  run: ({ inputs, params, step }) => {
    const like = inputs.like as tf.Tensor | undefined;
    if (like && like.rank === 0) throw new Error('the like input needs a batch dimension: [N, …], got a scalar');
    const n = like ? like.shape[0] : params.count;
    const spec = inputs.scheduler as SchedulerSpec | undefined;
    const T = spec ? spec.config.num_train_timesteps : params.numTrainTimesteps;
    return { t: tf.tensor1d(randomTimesteps(n, T, stepSeed(params.seed, step)), 'int32') };
  },
});

export const PromptDropout = defineNode({
  type: 'PromptDropout',
  category: 'text',
  title: 'Prompt Dropout',
  doc:
    'Replaces each prompt with the unconditional one (default "") with probability p, so a text-conditioned diffusion ' +
    'model also learns the unconditional prediction that classifier-free guidance needs (Ho & Salimans 2022). At ' +
    'sampling time connect the same unconditional prompt, encoded, to the Sampler’s negative. In training every step ' +
    'draws afresh from (seed, step); outside training (step 0) the draw is the seed’s.',
  inputs: { text: text({ doc: 'the prompts, one per batch item' }) },
  outputs: { text: text({ doc: 'the same prompts, some replaced by the unconditional one' }) },
  params: {
    p: number(0.1, { min: 0, max: 1, step: 0.05, doc: 'the probability of replacing each prompt' }),
    unconditional: textParam('', { doc: 'what a dropped prompt becomes (the empty prompt by default)' }),
    seed: seedParam(0, { doc: 'the same seed and step drop the same prompts' }),
  },
  stochastic: true,
  infer: ({ inputs }) => ({ text: (inputs.text as PortType | undefined) ?? text() }),
  run: ({ inputs, params, step }) => {
    const prompts = inputs.text as string[];
    const drop = dropMask(prompts.length, params.p, stepSeed(params.seed, step));
    return { text: prompts.map((s, i) => (drop[i] ? params.unconditional : s)) };
  },
});
