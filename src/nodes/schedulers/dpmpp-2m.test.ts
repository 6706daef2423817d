/**
 * DPM-Solver++(2M) against diffusers' published numbers (tests/schedulers/test_scheduler_dpm_multi.py):
 * 1000 train steps, linear betas 1e-4..0.02, solver_order 2, dpmsolver++, midpoint,
 * lower_order_final off, final_sigmas_type sigma_min, 10 steps, the dummy model on
 * dummy_sample_deter. diffusers publishes only the mean for most loops (tolerance 1e-3).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DPMSolverPlusPlus2MScheduler } from './dpmpp-2m.ts';
import { absStats, dummyModel, dummyNoiseDeter, dummySampleDeter } from './fixtures.ts';
import type { SchedulerConfig } from './schedule.ts';

const TEST_CONFIG: Partial<SchedulerConfig> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  prediction_type: 'epsilon',
  lower_order_final: false,
  euler_at_final: false,
  final_sigmas_type: 'sigma_min',
};

function loop(s: DPMSolverPlusPlus2MScheduler, sample: tf.Tensor, timesteps: readonly number[]): tf.Tensor {
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

async function fullLoopStats(config: Partial<SchedulerConfig>) {
  const s = new DPMSolverPlusPlus2MScheduler({ ...TEST_CONFIG, ...config });
  s.setTimesteps(10);
  const sample = dummySampleDeter();
  const x = loop(s, sample, s.timesteps);
  const stats = await absStats(x);
  tf.dispose([sample, x]);
  s.dispose();
  return stats;
}

let baseline: number;
beforeAll(async () => {
  await tf.setBackend('cpu');
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});

describe('DPM-Solver++(2M) reproduces diffusers', () => {
  it('the full loop ends at mean 0.3301', async () => {
    const { mean } = await fullLoopStats({});
    expect(Math.abs(mean - 0.3301)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('v_prediction ends at mean 0.2251', async () => {
    const { mean } = await fullLoopStats({ prediction_type: 'v_prediction' });
    expect(Math.abs(mean - 0.2251)).toBeLessThan(1e-3);
  });

  it('Karras sigmas with v_prediction end at mean 0.2096', async () => {
    const { mean } = await fullLoopStats({ prediction_type: 'v_prediction', use_karras_sigmas: true });
    expect(Math.abs(mean - 0.2096)).toBeLessThan(1e-3);
  });

  it('Lu et al.’s λ-uniform spacing with v_prediction ends at mean 0.1554', async () => {
    const { mean } = await fullLoopStats({ prediction_type: 'v_prediction', use_lu_lambdas: true });
    expect(Math.abs(mean - 0.1554)).toBeLessThan(1e-3);
  });

  it('dynamic thresholding (ratio 0.87, sample_max_value 0.5) ends at mean 1.1364', async () => {
    const { mean } = await fullLoopStats({ thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 0.5 });
    expect(Math.abs(mean - 1.1364)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('noising to timesteps[5] and sampling from there ends at sum 318.4111, mean 0.4146', async () => {
    const s = new DPMSolverPlusPlus2MScheduler(TEST_CONFIG);
    s.setTimesteps(10);
    const [sample, noise] = [dummySampleDeter(), dummyNoiseDeter()];
    const timesteps = s.timesteps.slice(5);
    const noisy = s.addNoise(sample, noise, timesteps[0]);
    const x = loop(s, noisy, timesteps);
    const { sum, mean } = await absStats(x);
    tf.dispose([sample, noise, noisy, x]);
    s.dispose();
    expect(Math.abs(sum - 318.4111)).toBeLessThan(1e-2);
    expect(Math.abs(mean - 0.4146)).toBeLessThan(1e-3);
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('DPM-Solver++(2M)', () => {
  it('linspace timesteps skip t=0: 999, 899, …, 100 for 10 steps', () => {
    const s = new DPMSolverPlusPlus2MScheduler(TEST_CONFIG);
    s.setTimesteps(10);
    expect(s.timesteps).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(s.sigmas).toHaveLength(11);
  });

  it('the first step is first order (DDIM in λ-time), later steps use the previous x̂0', async () => {
    // Two schedulers fed the same inputs at step 2 but different step-1 histories differ;
    // at step 1 (no history) they agree.
    const a = new DPMSolverPlusPlus2MScheduler(TEST_CONFIG);
    const b = new DPMSolverPlusPlus2MScheduler(TEST_CONFIG);
    a.setTimesteps(10);
    b.setTimesteps(10);
    const x = dummySampleDeter();
    const [e1, e2] = [tf.mul(x, 0.1), tf.mul(x, 0.3)];
    const [t0, t1] = a.timesteps;
    const a0 = a.step(e1, t0, x);
    const b0 = b.step(e2, t0, x);
    const a1 = a.step(e1, t1, x);
    const b1 = b.step(e1, t1, x);
    const [da, db] = [await a1.prevSample.data(), await b1.prevSample.data()];
    expect(da).not.toEqual(db);
    // The first step, h = λ_t − λ_s: x_t = (σ_t/σ_s)·x − α_t·(e^{−h} − 1)·x̂0.
    const sig = (s: number) => [1 / Math.sqrt(s * s + 1), s / Math.sqrt(s * s + 1)];
    const [as, ss] = sig(a.sigmas[0]);
    const [at, st] = sig(a.sigmas[1]);
    const h = Math.log(at / st) - Math.log(as / ss);
    const want = tf.tidy(() => {
      const x0 = tf.div(tf.sub(x, tf.mul(ss, e1)), as);
      return tf.sub(tf.mul(st / ss, x), tf.mul(at * (Math.exp(-h) - 1), x0));
    });
    const [got, exp] = [await a0.prevSample.data(), await want.data()];
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - exp[i])).toBeLessThan(1e-5);
    tf.dispose([x, e1, e2, a0.prevSample, a0.predOriginalSample, b0.prevSample, b0.predOriginalSample]);
    tf.dispose([a1.prevSample, a1.predOriginalSample, b1.prevSample, b1.predOriginalSample, want]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('the kept history is freed by dispose() and by setTimesteps()', () => {
    const s = new DPMSolverPlusPlus2MScheduler(TEST_CONFIG);
    s.setTimesteps(5);
    const x = dummySampleDeter();
    const before = tf.memory().numTensors;
    for (const t of s.timesteps.slice(0, 3)) {
      const eps = dummyModel(x, t);
      const out = s.step(eps, t, x);
      tf.dispose([eps, out.prevSample, out.predOriginalSample]);
    }
    expect(tf.memory().numTensors).toBe(before + 2); // two x̂0 kept, no more
    s.setTimesteps(5);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('with the diffusers defaults (final sigma 0) the last step returns x̂0 itself', async () => {
    const s = new DPMSolverPlusPlus2MScheduler({});
    s.setTimesteps(4);
    const x = dummySampleDeter();
    let out;
    for (const t of s.timesteps) {
      const eps = dummyModel(x, t);
      if (out) tf.dispose([out.prevSample, out.predOriginalSample]);
      out = s.step(eps, t, x);
      eps.dispose();
    }
    const [a, b] = [await out!.prevSample.data(), await out!.predOriginalSample.data()];
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6);
    tf.dispose([x, out!.prevSample, out!.predOriginalSample]);
    s.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
