/**
 * The sampling loop of latent diffusion with classifier-free guidance (Ho & Salimans 2022), driving
 * any scheduler through its diffusers-shaped API (schedulers/types.ts).
 *
 * Notation:
 *   x_T = z · initNoiseSigma        z the latent noise [N, H, W, C]
 *   c, ∅                            positive and negative (unconditional) context [N or 1, L, D];
 *                                   an open negative is a zero context of c's shape
 *   p, p∅                           positive and negative pooled embeddings [N or 1, D], for a U-Net
 *                                   with pooledDim (added to its time embedding); batched exactly as
 *                                   c and ∅ (an open negative: zeros of p's shape)
 *   s                               cfgScale
 *   ε̂ = ε(x, t, ∅, p∅) + s·(ε(x, t, c, p) − ε(x, t, ∅, p∅))     (s = 1: just ε(x, t, c, p))
 *
 * Per step t (scheduler.timesteps, set by setTimesteps(steps)):
 *   1. x_in = scaleModelInput(x, t)
 *   2. [ε_∅; ε_c] = U-Net([x_in; x_in], t, [∅; c], [p∅; p])   ONE call on the doubled batch
 *   3. ε̂ as above
 *   4. x = step(ε̂, t, x).prevSample
 *
 * Memory: each step runs in tf.tidy, so the U-Net's activations and the scheduler's x̂0 are freed
 * when the step ends; the previous x is disposed by hand because it was made by the step before.
 * Cancel: the loop yields to the event loop between steps (cpu and wasm never would otherwise) and
 * then checks the signal, so a Stop lands within one step and leaks nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { defineNode, int, model, number, scheduler, seedParam, shapeError, tensor, type ModelHandle } from '../runtime/index.ts';
import { configOf, shapeOf } from './model-port.ts';
import { checkPooled, checkUNetInputs, unetForward, type UNetConfig } from './unet.ts';

/** The part of the scheduler API (schedulers/types.ts) the loop uses. */
export interface SamplingScheduler {
  readonly timesteps: readonly number[];
  readonly initNoiseSigma: number;
  setTimesteps(numInferenceSteps: number): void;
  scaleModelInput(sample: tf.Tensor, t: number): tf.Tensor;
  step(modelOutput: tf.Tensor, t: number, sample: tf.Tensor, opts?: { eta?: number }): { prevSample: tf.Tensor };
  dispose(): void;
}

/** What a Scheduler node outputs: a factory of fresh, stateful scheduler instances. */
export interface SchedulerFactory {
  create(opts?: { seed?: number }): SamplingScheduler;
}

/** [1 or n, L, D] -> [n, L, D], always a new tensor (the input stays the plan's): one prompt conditions the whole batch. */
function toBatch(ctx: tf.Tensor3D, n: number): tf.Tensor3D {
  return ctx.shape[0] === n ? ctx.clone() : tf.tile(ctx, [n, 1, 1]);
}

/** [1 or n, D] -> [n, D], always a new tensor: one pooled embedding conditions the whole batch. */
function toBatch2(p: tf.Tensor2D, n: number): tf.Tensor2D {
  return p.shape[0] === n ? p.clone() : tf.tile(p, [n, 1]);
}

/**
 * The conditioning of a batch of n as the U-Net takes it: guided, [uncond; cond] (2n items), the
 * open side zeros of the other's shape; unguided, cond alone (n items). Null stays null.
 */
function batchCondition<T extends tf.Tensor2D | tf.Tensor3D>(cond: T | null, uncond: T | null, n: number, guided: boolean, toN: (x: T, n: number) => T): T | null {
  if (!guided) return cond ? toN(cond, n) : null;
  if (!cond && !uncond) return null;
  return tf.tidy(() => {
    const c = cond ? toN(cond, n) : tf.zeros([n, ...uncond!.shape.slice(1)]);
    const u = uncond ? toN(uncond, n) : tf.zerosLike(c);
    return tf.concat([u, c], 0) as T;
  });
}

/** A macrotask turn (setImmediate in Node, a MessageChannel hop in browsers): lets a Stop in. */
function yieldTurn(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}

/** The model call: ε̂ (or v, or x0) for a batch x at timesteps t [N] with context [N, L, D] or none, and a pooled embedding [N, D] or none. */
export type Predict = (x: tf.Tensor4D, t: tf.Tensor1D, context: tf.Tensor3D | null, pooled: tf.Tensor2D | null) => tf.Tensor;

/** Pooled embeddings for a U-Net with pooledDim: positive and negative, each [N or 1, D] or none. */
export interface PooledCondition {
  positive: tf.Tensor2D | null;
  negative: tf.Tensor2D | null;
}

export interface SampleOptions {
  steps: number;
  cfgScale: number;
  eta: number;
  seed: number;
  /** Called after each step. */
  onStep?: (done: number, total: number, t: number) => void;
  /** Throws to stop between steps. */
  throwIfAborted?: () => void;
}

/**
 * The loop itself, usable without a graph. Returns the final latent (the caller owns it); frees
 * everything else, on success, error or cancel alike.
 */
export async function sample(
  predict: Predict,
  factory: SchedulerFactory,
  latent: tf.Tensor4D,
  context: tf.Tensor3D | null,
  negative: tf.Tensor3D | null,
  o: SampleOptions,
  pooled: PooledCondition = { positive: null, negative: null },
): Promise<tf.Tensor4D> {
  const n = latent.shape[0];
  // Guidance needs a condition to differ from: without any, ε_∅ = ε_c and one pass is exact.
  const guided = o.cfgScale !== 1 && [context, negative, pooled.positive, pooled.negative].some((c) => c !== null);
  const sched = factory.create({ seed: o.seed });
  let ctx: tf.Tensor3D | null = null;
  let pool: tf.Tensor2D | null = null;
  let x: tf.Tensor4D | null = null;
  try {
    sched.setTimesteps(o.steps);
    // The batched conditions are the same every step: built once, outside the per-step tidy;
    // context and pooled embedding are stacked alike, [∅; c] and [p∅; p].
    ctx = batchCondition(context, negative, n, guided, toBatch);
    pool = batchCondition(pooled.positive, pooled.negative, n, guided, toBatch2);
    x = tf.mul(latent, sched.initNoiseSigma) as tf.Tensor4D;
    const ts = sched.timesteps;
    for (let i = 0; i < ts.length; i++) {
      if (i > 0) await yieldTurn();
      o.throwIfAborted?.();
      const t = ts[i];
      const prev: tf.Tensor4D = x;
      const next = tf.tidy(() => {
        // 1. the scheduler's scaling of the model input (Euler divides by √(σ²+1))
        const input = sched.scaleModelInput(prev, t) as tf.Tensor4D;
        let eps: tf.Tensor;
        if (guided) {
          // 2. one U-Net call on [x_in; x_in] with [∅; c]
          const both = predict(tf.concat([input, input], 0), tf.fill([2 * n], t) as tf.Tensor1D, ctx, pool);
          const [epsU, epsC] = tf.split(both, 2, 0);
          // 3. ε̂ = ε_∅ + s·(ε_c − ε_∅)
          eps = tf.add(epsU, tf.mul(tf.sub(epsC, epsU), o.cfgScale));
        } else eps = predict(input, tf.fill([n], t) as tf.Tensor1D, ctx, pool);
        // 4. x_{t−1}; x̂0 (predOriginalSample) is freed with the rest of this step
        return sched.step(eps, t, prev, { eta: o.eta }).prevSample as tf.Tensor4D;
      });
      prev.dispose();
      x = next;
      o.onStep?.(i + 1, ts.length, t);
    }
    const out = x;
    x = null;
    return out;
  } finally {
    x?.dispose();
    ctx?.dispose();
    pool?.dispose();
    sched.dispose();
  }
}

export const Sampler = defineNode({
  type: 'Sampler',
  category: 'diffusion',
  doc: 'Runs the reverse diffusion: from noise, `steps` scheduler steps, each one U-Net call on the batch [unconditional; conditional] (contexts and pooled embeddings alike) combined by classifier-free guidance. Reports progress per step; Stop lands between steps.',
  inputs: {
    unet: model('unet', { doc: 'the denoising U-Net' }),
    scheduler: scheduler({ doc: 'a Scheduler (a fresh instance is made for every run)' }),
    latent: tensor(['N', null, null, null], { doc: 'the starting noise z [N, H, W, C] (scaled by the scheduler’s initNoiseSigma)' }),
    context: tensor([null, null, null], { optional: true, doc: 'positive text embeddings [N or 1, L, contextDim]' }),
    negative: tensor([null, null, null], { optional: true, doc: 'negative embeddings, same length L; open: a zero (unconditional) context' }),
    pooled: tensor([null, null], { optional: true, doc: 'positive pooled embedding [N or 1, pooledDim] (a U-Net with pooledDim adds it to the time embedding)' }),
    negativePooled: tensor([null, null], { optional: true, doc: 'negative pooled embedding [N or 1, pooledDim]; open: zeros' }),
  },
  outputs: { out: tensor(['N', null, null, null], { doc: 'the denoised latent x_0' }) },
  params: {
    steps: int(10, { min: 1, max: 1000, doc: 'scheduler steps (one U-Net call each)' }),
    cfgScale: number(5, { min: 0, max: 50, step: 0.5, doc: 'guidance scale s: 1 = conditional only (one pass per step), > 1 pushes away from the negative' }),
    eta: number(0, { min: 0, max: 1, step: 0.1, doc: 'DDIM η for every step (0 deterministic, 1 DDPM-like); other schedulers ignore it' }),
    seed: seedParam(0, { doc: 'seeds the noise of stochastic steps (DDPM, DDIM with η > 0, Euler with churn)' }),
  },
  infer: ({ inputs }) => {
    const c = configOf<UNetConfig>(inputs.unet);
    const latent = shapeOf(inputs.latent);
    const pos = shapeOf(inputs.context);
    const neg = shapeOf(inputs.negative);
    checkUNetInputs(c, latent, pos, { sample: 'latent', context: 'context' });
    checkUNetInputs(c, latent, neg, { sample: 'latent', context: 'negative' });
    checkPooled(c, latent, shapeOf(inputs.pooled), 'pooled');
    checkPooled(c, latent, shapeOf(inputs.negativePooled), 'negativePooled');
    if (pos && neg && typeof pos[1] === 'number' && typeof neg[1] === 'number' && pos[1] !== neg[1]) {
      shapeError('negative', `has ${neg[1]} tokens, the context ${pos[1]}: both go through one batched U-Net call`);
    }
    if (c && c.outChannels !== undefined && c.inChannels !== undefined && c.outChannels !== c.inChannels) {
      shapeError('unet', `predicts ${c.outChannels} channels for a ${c.inChannels}-channel sample; sampling needs them equal`);
    }
    return { out: tensor(latent ?? [null, null, null, null]) };
  },
  run: async ({ inputs, params, progress, throwIfAborted }) => {
    const unet = inputs.unet as ModelHandle;
    const latent = inputs.latent as tf.Tensor4D;
    const context = (inputs.context as tf.Tensor3D | undefined) ?? null;
    const negative = (inputs.negative as tf.Tensor3D | undefined) ?? null;
    const c = unet.config as Partial<UNetConfig>;
    checkUNetInputs(c, latent.shape, context?.shape, { sample: 'latent', context: 'context' });
    checkUNetInputs(c, latent.shape, negative?.shape, { sample: 'latent', context: 'negative' });
    const pooled = (inputs.pooled as tf.Tensor2D | undefined) ?? null;
    const negativePooled = (inputs.negativePooled as tf.Tensor2D | undefined) ?? null;
    checkPooled(c, latent.shape, pooled?.shape, 'pooled');
    checkPooled(c, latent.shape, negativePooled?.shape, 'negativePooled');
    if (context && negative && context.shape[1] !== negative.shape[1]) {
      throw new Error(`the negative has ${negative.shape[1]} tokens, the context ${context.shape[1]}`);
    }
    const noCrossAttention = !(c.contextDim ?? 0); // infer rejects a context on such a U-Net; guidance would be a no-op
    const predict: Predict = (x, t, ctx, p) => unetForward(unet, x, t, ctx, p);
    const out = await sample(
      predict,
      inputs.scheduler as SchedulerFactory,
      latent,
      noCrossAttention ? null : context,
      noCrossAttention ? null : negative,
      { ...params, onStep: (done, total, t) => progress(done, total, { step: done, timestep: t }), throwIfAborted },
      { positive: pooled, negative: negativePooled },
    );
    return { out };
  },
});
