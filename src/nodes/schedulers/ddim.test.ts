/**
 * DDIM against diffusers' published numbers (tests/schedulers/test_scheduler_ddim.py): 1000 train
 * steps, linear betas 1e-4..0.02, clip_sample on, 10 inference steps, η = 0, the dummy model
 * x·t/(t+1) on dummy_sample_deter. Tolerances are diffusers' own (1e-2 on the sum, 1e-3 on the mean).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DDIMScheduler } from './ddim.ts';
import { absStats, dummyModel, dummyNoiseDeter, dummySampleDeter } from './fixtures.ts';
import type { SchedulerConfig } from './schedule.ts';
import type { Scheduler } from './types.ts';

const TEST_CONFIG: Partial<SchedulerConfig> = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', clip_sample: true };

/** diffusers' full_loop: model, step, repeat; returns the final sample. */
function fullLoop(s: Scheduler, sample: tf.Tensor, timesteps = s.timesteps): tf.Tensor {
  let x = sample;
  for (const t of timesteps) {
    const eps = dummyModel(x, t);
    const out = s.step(eps, t, x);
    tf.dispose([eps, out.predOriginalSample]);
    if (x !== sample) x.dispose();
    x = out.prevSample;
  }
  return x;
}

async function loopStats(config: Partial<SchedulerConfig>) {
  const s = new DDIMScheduler({ ...TEST_CONFIG, ...config });
  s.setTimesteps(10);
  const sample = dummySampleDeter();
  const x = tf.tidy(() => fullLoop(s, sample));
  const stats = await absStats(x);
  tf.dispose([sample, x]);
  return stats;
}

let baseline: number;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
const noLeaks = () => expect(tf.memory().numTensors).toBe(baseline);

describe('DDIM reproduces diffusers', () => {
  it('the full loop with eta=0 ends at sum 172.0067, mean 0.223967 (the issue anchor)', async () => {
    const { sum, mean } = await loopStats({});
    expect(Math.abs(sum - 172.0067)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.223967)).toBeLessThan(1e-3);
    noLeaks();
  });

  it('v_prediction ends at sum 52.5302, mean 0.0684', async () => {
    const { sum, mean } = await loopStats({ prediction_type: 'v_prediction' });
    expect(Math.abs(sum - 52.5302)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.0684)).toBeLessThan(1e-3);
    noLeaks();
  });

  it('set_alpha_to_one=true with beta_start 0.01 ends at sum 149.8295, mean 0.1951', async () => {
    const { sum, mean } = await loopStats({ set_alpha_to_one: true, beta_start: 0.01 });
    expect(Math.abs(sum - 149.8295)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.1951)).toBeLessThan(1e-3);
  });

  it('set_alpha_to_one=false with beta_start 0.01 ends at sum 149.0784, mean 0.1941', async () => {
    const { sum, mean } = await loopStats({ set_alpha_to_one: false, beta_start: 0.01 });
    expect(Math.abs(sum - 149.0784)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.1941)).toBeLessThan(1e-3);
  });

  it('noising dummy_sample_deter to timesteps[8] and sampling from there ends at sum 354.5418, mean 0.4616', async () => {
    const s = new DDIMScheduler(TEST_CONFIG);
    s.setTimesteps(10);
    const [sample, noise] = [dummySampleDeter(), dummyNoiseDeter()];
    const timesteps = s.timesteps.slice(8);
    const noisy = s.addNoise(sample, noise, timesteps[0]);
    const x = fullLoop(s, noisy, timesteps);
    const { sum, mean } = await absStats(x);
    tf.dispose([sample, noise, noisy, x]);
    expect(Math.abs(sum - 354.5418)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.4616)).toBeLessThan(1e-3);
    noLeaks();
  });

  it('the eta variance σ²/η² matches diffusers at five (t, t_prev) pairs', () => {
    const s = new DDIMScheduler(TEST_CONFIG);
    expect(Math.abs(s.variance(0, 0) - 0)).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(420, 400) - 0.14771)).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(980, 960) - 0.3246)).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(487, 486) - 0.00979)).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(999, 998) - 0.02)).toBeLessThan(1e-5);
  });

  it('steps_offset=1 with 5 steps gives timesteps 801, 601, 401, 201, 1', () => {
    const s = new DDIMScheduler({ ...TEST_CONFIG, steps_offset: 1 });
    s.setTimesteps(5);
    expect(s.timesteps).toEqual([801, 601, 401, 201, 1]);
  });

  it('trailing and linspace spacings end at t=T-1 and t=0 respectively', () => {
    const trailing = new DDIMScheduler({ ...TEST_CONFIG, timestep_spacing: 'trailing' });
    trailing.setTimesteps(10);
    expect(trailing.timesteps).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    const linspace = new DDIMScheduler({ ...TEST_CONFIG, timestep_spacing: 'linspace' });
    linspace.setTimesteps(4);
    expect(linspace.timesteps).toEqual([999, 666, 333, 0]);
  });

  it('zero inference steps, or more than the training steps, are refused', () => {
    const s = new DDIMScheduler(TEST_CONFIG);
    expect(() => s.setTimesteps(0)).toThrow(/positive integer/);
    expect(() => s.setTimesteps(1001)).toThrow(/cannot be more than/);
  });
});

describe('DDIM with eta > 0', () => {
  it('ddim with eta=0 is deterministic and draws no noise', async () => {
    const a = await loopStats({ eta: 0 });
    const b = await loopStats({ eta: 0 });
    expect(a).toEqual(b);
  });

  it('a step with eta adds exactly std·z to the eta=0 step, std = eta·sqrt(variance)', async () => {
    const s = new DDIMScheduler(TEST_CONFIG);
    s.setTimesteps(10);
    const [x, z] = [dummySampleDeter(), tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 5)];
    const eps = dummyModel(x, 500);
    const det = s.step(eps, 500, x, { eta: 0 });
    const sto = s.step(eps, 500, x, { eta: 0.5, noise: z });
    // With η the direction term shrinks: √(1−ᾱ_prev−σ²) instead of √(1−ᾱ_prev).
    const ap = s.alphasCumprod[400];
    const std = 0.5 * Math.sqrt(s.variance(500, 400));
    const x0 = det.predOriginalSample;
    const epsAgain = eps; // epsilon prediction: ε̂ is the model output
    const want = tf.tidy(() => tf.add(tf.add(tf.mul(Math.sqrt(ap), x0), tf.mul(Math.sqrt(1 - ap - std * std), epsAgain)), tf.mul(std, z)));
    const [got, exp] = [await sto.prevSample.data(), await want.data()];
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - exp[i]));
    expect(maxErr).toBeLessThan(1e-5);
    expect(std).toBeGreaterThan(0.01);
    tf.dispose([x, z, eps, det.prevSample, det.predOriginalSample, sto.prevSample, sto.predOriginalSample, want]);
    noLeaks();
  });

  it('the same seed gives the same stochastic run, another seed a different one', async () => {
    const run = async (seed: number) => {
      const s = new DDIMScheduler({ ...TEST_CONFIG, eta: 1 }, { seed });
      s.setTimesteps(10);
      const sample = dummySampleDeter();
      const x = fullLoop(s, sample);
      const stats = await absStats(x);
      tf.dispose([sample, x]);
      return stats;
    };
    const [a, b, c] = [await run(0), await run(0), await run(1)];
    expect(a).toEqual(b);
    expect(a.sum).not.toEqual(c.sum);
    noLeaks();
  });
});
