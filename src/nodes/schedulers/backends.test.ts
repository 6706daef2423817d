/**
 * The schedulers give the same numbers on cpu, wasm and webgpu (Dawn on SwiftShader in Node):
 * diffusers' deterministic loops for all four schedulers, run through the API on each backend,
 * element by element against cpu to 1e-4 (relative to the sample's scale for Euler's σ-sized
 * values), the DDIM anchor's golden numbers on every backend, and a Scheduler -> AddNoise graph
 * with per-item timesteps from a tensor (looked up on the device) through createRuntime. tfjs's backend is process-wide, so backends run one after another and
 * results are kept as plain arrays.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type BackendName, type TensorData } from '../../index.ts';
import { graph } from '../../runtime/testing.ts';
import { dummyModel, dummyNoiseDeter, dummySampleDeter } from './fixtures.ts';
import { createScheduler, torchNoise, type SchedulerConfig, type SchedulerType } from './index.ts';

const TOLERANCE = 1e-4;
const HAS_SWIFTSHADER = existsSync('/usr/lib/chromium/vk_swiftshader_icd.json');
const BACKENDS: BackendName[] = ['cpu', 'wasm', ...(HAS_SWIFTSHADER ? (['webgpu'] as const) : [])];

interface Loop {
  type: SchedulerType;
  config: Partial<SchedulerConfig>;
  /** Start from timesteps[start] after add_noise with dummy_noise_deter. */
  start?: number;
  /** Run every training timestep without setTimesteps (DDPM's test), with torch.manual_seed(0) noise. */
  full?: boolean;
}

const LOOPS: Record<string, Loop> = {
  'ddim eta=0': { type: 'ddim', config: { clip_sample: true } },
  'ddim v_prediction from timesteps[8]': { type: 'ddim', config: { clip_sample: true, prediction_type: 'v_prediction' }, start: 8 },
  'ddpm, 50 steps of torch noise': { type: 'ddpm', config: { clip_sample: true } },
  'euler karras': { type: 'euler', config: { num_train_timesteps: 1100, use_karras_sigmas: true } },
  'dpm++ 2m': { type: 'dpmpp_2m', config: { lower_order_final: false, final_sigmas_type: 'sigma_min' } },
  'dpm++ 2m v_prediction from timesteps[5]': { type: 'dpmpp_2m', config: { prediction_type: 'v_prediction' }, start: 5 },
  'dpm++ 2m with dynamic thresholding': { type: 'dpmpp_2m', config: { thresholding: true, dynamic_thresholding_ratio: 0.87, sample_max_value: 1.5 } },
};

/** A diffusers-style loop (the model sees scaleModelInput's output, step gets the unscaled sample). */
async function runLoop(l: Loop): Promise<Float32Array> {
  const s = createScheduler(l.type, l.config);
  s.setTimesteps(l.type === 'ddpm' ? 50 : 10);
  const generator = torchNoise(0);
  let x = tf.tidy(() => tf.mul(dummySampleDeter(), s.initNoiseSigma));
  let ts = s.timesteps;
  if (l.start !== undefined) {
    ts = ts.slice(l.start);
    const noise = dummyNoiseDeter();
    const noisy = s.addNoise(x, noise, ts[0]);
    tf.dispose([x, noise]);
    x = noisy;
  }
  for (const t of ts) {
    const next = tf.tidy(() => s.step(dummyModel(s.scaleModelInput(x, t), t), t, x, { generator }).prevSample);
    x.dispose();
    x = next;
  }
  s.dispose();
  const data = (await x.data()) as Float32Array;
  x.dispose();
  return data;
}

const results: Partial<Record<BackendName, Record<string, Float32Array>>> = {};
const graphResults: Partial<Record<BackendName, TensorData>> = {};
const ranOn: string[] = [];
const leaked: Partial<Record<BackendName, number>> = {};

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const rt = await createRuntime({ backend });
    ranOn.push(tf.getBackend());
    const before = tf.memory().numTensors;
    const byLoop: Record<string, Float32Array> = {};
    for (const [name, loop] of Object.entries(LOOPS)) byLoop[name] = await runLoop(loop);
    results[backend] = byLoop;
    const doc = graph(
      [
        ['x0', 'NoiseSource', { shape: [2, 8, 8, 4], seed: 1 }],
        ['eps', 'NoiseSource', { shape: [2, 8, 8, 4], seed: 2 }],
        ['sched', 'Scheduler', { type: 'dpmpp_2m', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 }],
        ['t', 'Constant', { shape: [2], value: 700 }],
        ['add', 'AddNoise', { timestep: 0 }],
        ['out', 'TensorOutput'],
      ],
      ['x0.out -> add.x0', 'eps.out -> add.noise', 'sched.scheduler -> add.scheduler', 't.out -> add.t', 'add.out -> out.x'],
    );
    graphResults[backend] = (await rt.run(doc)).outputs.out.value as TensorData;
    rt.dispose();
    leaked[backend] = tf.memory().numTensors - before;
  }
}, 300_000);

const absStats = (d: Float32Array) => {
  let sum = 0;
  for (const v of d) sum += Math.abs(v);
  return { sum, mean: sum / d.length };
};

describe('schedulers on every backend', () => {
  it('each backend ran where it was asked to', () => {
    expect(ranOn).toEqual(BACKENDS);
  });

  for (const backend of BACKENDS) {
    it(`the DDIM anchor holds on ${backend}: sum 172.0067, mean 0.223967`, () => {
      const { sum, mean } = absStats(results[backend]!['ddim eta=0']);
      expect(Math.abs(sum - 172.0067)).toBeLessThan(1e-2);
      expect(Math.abs(mean - 0.223967)).toBeLessThan(1e-3);
    });

    it(`nothing leaks on ${backend}`, () => {
      expect(leaked[backend]).toBe(0);
    });
  }

  for (const name of Object.keys(LOOPS)) {
    for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
      it(`${name} on ${backend} matches cpu to ${TOLERANCE}, element by element`, () => {
        const [cpu, other] = [results.cpu![name], results[backend]![name]];
        expect(other.length).toBe(cpu.length);
        const scale = Math.max(1, ...Array.from(cpu, Math.abs));
        let worst = 0;
        for (let i = 0; i < cpu.length; i++) worst = Math.max(worst, Math.abs(cpu[i] - other[i]) / scale);
        expect(worst).toBeLessThanOrEqual(TOLERANCE);
        expect(absStats(cpu).mean).toBeGreaterThan(1e-3); // real numbers, not zeros
      });
    }
  }

  for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
    it(`a Scheduler -> AddNoise graph on ${backend} matches cpu to ${TOLERANCE}`, () => {
      const [cpu, other] = [graphResults.cpu!, graphResults[backend]!];
      expect(other.shape).toEqual([2, 8, 8, 4]);
      for (let i = 0; i < cpu.data.length; i++) expect(Math.abs(cpu.data[i] - other.data[i])).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});
