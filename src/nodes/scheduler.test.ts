/**
 * The Scheduler and AddNoise kinds: AddNoise against the forward-process formula with ᾱ computed
 * here independently (float64 product of 1 − β over a linear schedule), compile-time shape errors,
 * the scheduler port carrying a factory of fresh instances, caching, and no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRegistry, createRuntime, tfSeed, type GraphDoc, type Runtime, type TensorData } from '../index.ts';
import { graph } from '../runtime/testing.ts';
import { AddNoise, Scheduler } from './scheduler.ts';
import { DPMSolverPlusPlus2MScheduler, EulerScheduler, SchedulerSpec } from './schedulers/index.ts';

/** ᾱ_t = ∏_{s ≤ t} (1 − β_s), β linear from 1e-4 to 0.02 over 1000 steps, in float64. */
const alphaBar = (t: number) => {
  let a = 1;
  for (let s = 0; s <= t; s++) a *= 1 - (0.0001 + (s * (0.02 - 0.0001)) / 999);
  return a;
};

const noised = (schedulerParams: Record<string, unknown>, addNoiseParams: Record<string, unknown> = {}, extra: { t?: number[] } = {}): GraphDoc =>
  graph(
    [
      ['x0', 'NoiseSource', { shape: [2, 8, 8, 3], seed: 1, distribution: 'uniform' }],
      ['eps', 'NoiseSource', { shape: [2, 8, 8, 3], seed: 2 }],
      ['sched', 'Scheduler', schedulerParams],
      ['add', 'AddNoise', addNoiseParams],
      ['out', 'TensorOutput'],
      ...(extra.t ? [['t', 'Constant', { shape: extra.t, value: 900 }] as [string, string, Record<string, unknown>]] : []),
    ],
    ['x0.out -> add.x0', 'eps.out -> add.noise', 'sched.scheduler -> add.scheduler', 'add.out -> out.x', ...(extra.t ? ['t.out -> add.t'] : [])],
  );

async function expectForwardProcess(got: TensorData, t: number) {
  const x0 = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', tfSeed(1));
  const eps = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', tfSeed(2));
  const [x, e] = [await x0.data(), await eps.data()];
  const a = alphaBar(t);
  let maxErr = 0;
  for (let i = 0; i < x.length; i++) maxErr = Math.max(maxErr, Math.abs(got.data[i] - (Math.sqrt(a) * x[i] + Math.sqrt(1 - a) * e[i])));
  expect(maxErr).toBeLessThan(1e-5);
  tf.dispose([x0, eps]);
}

let rt: Runtime;
let baseline: number;
beforeAll(async () => {
  const registry = createRegistry();
  for (const kind of [Scheduler, AddNoise]) if (!registry.has(kind.type)) registry.register(kind);
  rt = await createRuntime({ backend: 'cpu', registry });
});
beforeEach(() => {
  rt.clearCache();
  baseline = tf.memory().numTensors;
});
afterAll(() => rt.dispose());

describe('AddNoise', () => {
  it('computes √ᾱ_t·x0 + √(1−ᾱ_t)·ε at the timestep param, for every scheduler type', async () => {
    for (const type of ['ddpm', 'ddim', 'euler', 'dpmpp_2m']) {
      const res = await rt.run(noised({ type }, { timestep: 250 }));
      expect(res.outputs.out.value).toMatchObject({ shape: [2, 8, 8, 3] });
      await expectForwardProcess(res.outputs.out.value as TensorData, 250);
    }
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('takes per-item timesteps from the t input instead of the param', async () => {
    const res = await rt.run(noised({ type: 'ddim' }, { timestep: 3 }, { t: [2] }));
    await expectForwardProcess(res.outputs.out.value as TensorData, 900);
  });

  it('t = 0 barely noises and t = T−1 is almost pure noise', async () => {
    const early = (await rt.run(noised({}, { timestep: 0 }))).outputs.out;
    const late = (await rt.run(noised({}, { timestep: 999 }))).outputs.out;
    expect(early.mean as number).toBeCloseTo(0.5, 1); // uniform x0
    expect(Math.abs(late.mean as number)).toBeLessThan(0.1); // ε ~ N(0, 1)
    expect(late.std as number).toBeCloseTo(1, 1);
  });

  it('noise shaped unlike x0 is a compile error on the noise port, before anything runs', () => {
    const doc = noised({});
    doc.nodes.find((n) => n.id === 'eps')!.params.shape = [2, 8, 8, 4];
    const { errors } = rt.compile(doc);
    expect(errors).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId: 'add', port: 'noise', message: expect.stringContaining('shaped like x0') })]);
  });

  it('a t input with neither one nor N timesteps is a compile error on the t port', () => {
    const { errors } = rt.compile(noised({}, {}, { t: [3] }));
    expect(errors).toEqual([expect.objectContaining({ code: 'shape-mismatch', nodeId: 'add', port: 't', message: expect.stringContaining('3 timesteps for a batch of 2') })]);
  });

  it('a timestep past the scheduler’s training steps fails the node with the valid range, leaking nothing', async () => {
    await expect(rt.run(noised({ num_train_timesteps: 100 }, { timestep: 100 }))).rejects.toMatchObject({
      errors: [expect.objectContaining({ code: 'node-failed', nodeId: 'add', message: expect.stringContaining('0..99') })],
    });
    rt.clearCache();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a rerun is served from the cache, and a scheduler param change reruns the scheduler and AddNoise only', async () => {
    const doc = noised({ type: 'ddpm' });
    await rt.run(doc);
    const again = await rt.run(doc);
    expect(Object.values(again.nodes).every((n) => n.status === 'cached')).toBe(true);
    const changed = await rt.run(noised({ type: 'ddpm', beta_end: 0.012 }));
    expect(changed.nodes.x0.status).toBe('cached');
    expect(changed.nodes.sched.status).toBe('ran');
    expect(changed.nodes.add.status).toBe('ran');
  });
});

describe('Scheduler', () => {
  const run = (params: Record<string, unknown>) => {
    const defaults = Object.fromEntries(Object.entries(Scheduler.params).map(([k, spec]) => [k, spec.default]));
    const out = Scheduler.run({ params: { ...defaults, ...params } } as never) as { scheduler: SchedulerSpec };
    return out.scheduler;
  };

  it('outputs a resource whose create() makes a fresh, independent scheduler of the chosen type per call', () => {
    const spec = run({ type: 'dpmpp_2m', prediction_type: 'v_prediction', use_karras_sigmas: true });
    expect(spec.resource).toBe('scheduler');
    expect(spec.bytes()).toBe(0);
    const a = spec.create();
    const b = spec.create();
    expect(a).toBeInstanceOf(DPMSolverPlusPlus2MScheduler);
    expect(a).not.toBe(b);
    expect(a.config.prediction_type).toBe('v_prediction');
    a.setTimesteps(10);
    b.setTimesteps(25);
    expect(a.timesteps).toHaveLength(10);
    expect(b.timesteps).toHaveLength(25);
  });

  it('timestep_spacing "default" takes diffusers’ per-type default; an explicit spacing wins', () => {
    expect(run({ type: 'ddim' }).config.timestep_spacing).toBe('leading');
    expect(run({ type: 'euler' }).config.timestep_spacing).toBe('linspace');
    expect(run({ type: 'euler', timestep_spacing: 'trailing' }).config.timestep_spacing).toBe('trailing');
    expect(run({ type: 'euler' }).create()).toBeInstanceOf(EulerScheduler);
  });

  it('every param is a diffusers config key the created scheduler carries', () => {
    const spec = run({ type: 'ddim', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, clip_sample: false, set_alpha_to_one: false });
    const s = spec.create();
    s.setTimesteps(50);
    // Stable Diffusion's DDIM: leading spacing with offset 1 starts at 981.
    expect(s.timesteps[0]).toBe(981);
    expect(s.config).toMatchObject({ beta_schedule: 'scaled_linear', steps_offset: 1, clip_sample: false, set_alpha_to_one: false });
    for (const key of Object.keys(Scheduler.params)) if (key !== 'type' && key !== 'timestep_spacing') expect(s.config).toHaveProperty(key);
  });

  it('the scheduler port’s value reads back as a resource, not tensors', async () => {
    const res = await rt.run(graph([['sched', 'Scheduler', { type: 'euler' }]]), { outputs: ['sched'] });
    expect(res.outputs.sched.scheduler).toEqual({ resource: 'scheduler' });
  });
});
