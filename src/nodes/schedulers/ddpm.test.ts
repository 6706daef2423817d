/**
 * DDPM against diffusers' published numbers (tests/schedulers/test_scheduler_ddpm.py): 1000 train
 * steps, linear betas 1e-4..0.02, fixed_small variance, clip_sample on; the full loop walks every
 * training timestep 999 … 0 with the dummy model x·t/(t+1).
 *
 * Those loops are stochastic: every step but the last adds √β̃_t·z with z drawn by
 * torch.randn(generator=torch.manual_seed(0)). torchNoise(0) reproduces that stream (torch's
 * MT19937 and Box–Muller; see torch-random.ts), so the published numbers are reproduced exactly
 * rather than approximated. The deterministic parts are also checked on their own: the variance
 * formula at diffusers' three points, and the posterior mean against eq. 7 written out.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DDPMScheduler } from './ddpm.ts';
import { absStats, dummyModel, dummyNoiseDeter, dummySampleDeter } from './fixtures.ts';
import type { NoiseGenerator, SchedulerConfig } from './schedule.ts';
import { torchNoise } from './torch-random.ts';

const TEST_CONFIG: Partial<SchedulerConfig> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  variance_type: 'fixed_small',
  clip_sample: true,
};

function loop(s: DDPMScheduler, sample: tf.Tensor, timesteps: readonly number[], generator: NoiseGenerator): tf.Tensor {
  let x = sample;
  for (const t of timesteps) {
    const eps = dummyModel(x, t);
    const out = s.step(eps, t, x, { generator });
    tf.dispose([eps, out.predOriginalSample]);
    if (x !== sample) x.dispose();
    x = out.prevSample;
  }
  return x;
}

async function fullLoopStats(config: Partial<SchedulerConfig>) {
  const s = new DDPMScheduler({ ...TEST_CONFIG, ...config });
  const sample = dummySampleDeter();
  const x = loop(s, sample, s.timesteps, torchNoise(0));
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

describe('DDPM reproduces diffusers (with torch.manual_seed(0) noise, reproduced)', () => {
  it('the full 1000-step loop ends at sum 258.9606, mean 0.3372', async () => {
    const { sum, mean } = await fullLoopStats({});
    expect(Math.abs(sum - 258.9606)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.3372)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('v_prediction ends at sum 202.0296, mean 0.2631', async () => {
    const { sum, mean } = await fullLoopStats({ prediction_type: 'v_prediction' });
    expect(Math.abs(sum - 202.0296)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.2631)).toBeLessThan(1e-3);
  });

  it('noising to t=1 and stepping t=1, 0 ends at sum 387.9466, mean 0.5051', async () => {
    const s = new DDPMScheduler(TEST_CONFIG);
    const [sample, noise] = [dummySampleDeter(), dummyNoiseDeter()];
    const timesteps = s.timesteps.slice(998);
    expect(timesteps).toEqual([1, 0]);
    const noisy = s.addNoise(sample, noise, [timesteps[0]]);
    const x = loop(s, noisy, timesteps, torchNoise(0));
    const { sum, mean } = await absStats(x);
    tf.dispose([sample, noise, noisy, x]);
    expect(Math.abs(sum - 387.9466)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.5051)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('DDPM, the deterministic parts', () => {
  it('the fixed_small variance β̃_t is 0 at t=0, 0.00979 at t=487, 0.02 at t=999', () => {
    const s = new DDPMScheduler(TEST_CONFIG);
    expect(Math.abs(s.variance(0))).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(487) - 0.00979)).toBeLessThan(1e-5);
    expect(Math.abs(s.variance(999) - 0.02)).toBeLessThan(1e-5);
  });

  it('fixed_large uses β_t itself', () => {
    const s = new DDPMScheduler({ ...TEST_CONFIG, variance_type: 'fixed_large' });
    expect(s.variance(999)).toBeCloseTo(0.02, 7);
    expect(s.variance(0)).toBeCloseTo(0.0001, 7);
  });

  it('one step is the posterior mean of eq. 7 plus √β̃_t times the given noise', async () => {
    const s = new DDPMScheduler({ ...TEST_CONFIG, clip_sample: false });
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 3);
    const eps = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 4);
    const z = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5);
    const t = 600;
    const { prevSample, predOriginalSample } = s.step(eps, t, x, { noise: z });
    const a = s.alphasCumprod[t];
    const ap = s.alphasCumprod[t - 1];
    const beta = 1 - a / ap;
    const want = tf.tidy(() => {
      const x0 = tf.div(tf.sub(x, tf.mul(Math.sqrt(1 - a), eps)), Math.sqrt(a));
      const mean = tf.add(tf.mul((Math.sqrt(ap) * beta) / (1 - a), x0), tf.mul((Math.sqrt(1 - beta) * (1 - ap)) / (1 - a), x));
      return tf.add(mean, tf.mul(Math.sqrt(((1 - ap) / (1 - a)) * beta), z));
    });
    const [got, exp] = [await prevSample.data(), await want.data()];
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - exp[i])).toBeLessThan(1e-5);
    tf.dispose([x, eps, z, prevSample, predOriginalSample, want]);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('the last step (t=0) adds no noise', async () => {
    const s = new DDPMScheduler(TEST_CONFIG);
    const x = dummySampleDeter();
    const eps = dummyModel(x, 0);
    const a = s.step(eps, 0, x, { generator: torchNoise(1) });
    const b = s.step(eps, 0, x, { generator: torchNoise(2) });
    expect(await a.prevSample.data()).toEqual(await b.prevSample.data());
    tf.dispose([x, eps, a.prevSample, a.predOriginalSample, b.prevSample, b.predOriginalSample]);
  });

  it('after setTimesteps(n) each step jumps to the next timestep of the schedule', () => {
    const s = new DDPMScheduler(TEST_CONFIG);
    s.setTimesteps(4);
    expect(s.timesteps).toEqual([750, 500, 250, 0]);
    expect(s.previousTimestep(750)).toBe(500);
    expect(s.previousTimestep(0)).toBe(-1);
  });

  it('a seeded run replays exactly', async () => {
    const run = async () => {
      const s = new DDPMScheduler(TEST_CONFIG, { seed: 42 });
      s.setTimesteps(20);
      const sample = dummySampleDeter();
      let x = sample;
      for (const t of s.timesteps) {
        const eps = dummyModel(x, t);
        const out = s.step(eps, t, x);
        tf.dispose([eps, out.predOriginalSample]);
        if (x !== sample) x.dispose();
        x = out.prevSample;
      }
      const stats = await absStats(x);
      tf.dispose([sample, x]);
      return stats;
    };
    expect(await run()).toEqual(await run());
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
