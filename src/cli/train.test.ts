/**
 * `weft train`, run as a user runs it (`node bin/weft.mjs train ...` in a child process) on a tiny
 * graph of built-in kinds: two MLP discriminators on 2-D moons, one trained with GAN terms against
 * uniform noise (opt_d, Adam), one regressed to 1 with MSE (opt_r, plain SGD); a resumed run
 * (weights and Adam's state from the checkpoint) continues exactly. Also a flow on moons, whose
 * one trained model is built by a chain of layer nodes. Every child starts as early as its inputs
 * exist, so the file's wall time is a few process starts, not the sum of them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moonsFlowGraph } from '../nodes/flow/testing.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/weft.mjs');

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function weft(args: string[], opts: { cwd?: string; onStderr?: (text: string, kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, (sig) => child.kill(sig));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

let dir: string;
const tmp = (...names: string[]) => path.join(dir, ...names);
const node = (id: string, type: string, params: Record<string, unknown> = {}) => ({ id, type, params, position: { x: 0, y: 0 } });
const wire = (i: number, w: string) => {
  const [[fn, fp], [tn, tp]] = w.split('->').map((s) => s.trim().split('.'));
  return { id: `e${i}`, from: { node: fn, port: fp }, to: { node: tn, port: tp } };
};

const trainable = {
  format: 'weft.graph',
  version: 1,
  name: 'two discriminators on moons',
  nodes: [
    node('discA', 'Discriminator', { arch: 'mlp', inShape: [2], width: 8, depth: 1, seed: 1 }),
    node('discB', 'Discriminator', { arch: 'mlp', inShape: [2], width: 8, depth: 1, seed: 2 }),
    node('data', 'Dataset', { name: 'moons', batchSize: 64, seed: 1 }),
    node('noise', 'NoiseSource', { shape: [64, 2], seed: 3, distribution: 'uniform' }),
    node('dReal', 'Discriminate'),
    node('dFake', 'Discriminate'),
    node('real', 'GANLoss', { role: 'discriminator_real' }),
    node('fake', 'GANLoss', { role: 'discriminator_fake' }),
    node('sum', 'WeightedSum', { weights: '0.5, 0.5' }),
    node('opt_d', 'Optimizer', { algorithm: 'adam', learningRate: 0.02 }),
    node('dB', 'Discriminate'),
    node('one', 'Constant', { shape: [64, 1], value: 1 }),
    node('mse', 'MSE'),
    node('opt_r', 'Optimizer', { algorithm: 'sgd', learningRate: 0.05 }),
    node('trainer', 'Trainer', { iterations: 3, logInterval: 2 }),
    // what `weft run` shows: discA's logits on a fixed probe
    node('probe', 'Constant', { shape: [4, 2], value: 0.5 }),
    node('dProbe', 'Discriminate'),
    node('score', 'TensorOutput'),
  ],
  edges: [
    'discA.model -> dReal.model',
    'discA.model -> dFake.model',
    'data.batch -> dReal.x',
    'noise.out -> dFake.x',
    'dReal.logits -> real.logits',
    'dFake.logits -> fake.logits',
    'real.loss -> sum.terms',
    'fake.loss -> sum.terms',
    'sum.loss -> opt_d.loss',
    'discA.model -> opt_d.models',
    'discB.model -> dB.model',
    'data.batch -> dB.x',
    'dB.logits -> mse.prediction',
    'one.out -> mse.target',
    'mse.loss -> opt_r.loss',
    'discB.model -> opt_r.models',
    'opt_d.optimizer -> trainer.optimizers',
    'opt_r.optimizer -> trainer.optimizers',
    'discA.model -> dProbe.model',
    'probe.out -> dProbe.x',
    'dProbe.logits -> score.x',
  ].map((w, i) => wire(i, w)),
  meta: {},
};

/** A safetensors file's header: tensor entries and __metadata__. */
function safetensorsHeader(file: string): Record<string, any> {
  const bytes = readFileSync(file);
  return JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
}
const losses = (json: { history: Array<{ losses: Record<string, number> }> }) => json.history.map((h) => [h.losses.opt_d, h.losses.opt_r]);
const scoreMean = (r: Done) => JSON.parse(r.stdout).outputs.score.values.mean as number;

let runs: {
  first: Done;
  cancelled: Done;
  resumed: Done;
  trained: Done;
  untrained: Done;
  noTrainer: Done;
  badSteps: Done;
  badTrainer: Done;
  badResume: Done;
  flow: Done;
  flowRun: Done;
  ema: Done;
};
/** Steps the Ctrl-C'd run finished (its checkpoint's). */
let stopped: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'weft-train-'));
  const G = tmp('graph.json');
  writeFileSync(G, JSON.stringify(trainable));

  // The trainer's 3 iterations, saved.
  const first = weft(['train', G, '--save', tmp('part'), '--json']);
  // One long run, Ctrl-C'd after its sixth progress line: what it saved is N steps in one go.
  let sent = false;
  const cancelled = weft(['train', G, '--steps', '100000', '--log-every', '1', '--save', tmp('stopped')], {
    onStderr: (text, kill) => {
      if (!sent && (text.match(/^step \d+\//gm) ?? []).length >= 6) {
        sent = true;
        kill('SIGINT');
      }
    },
  });
  // Resume the 3 steps up to N; then generate from the resumed checkpoint's graph.
  const resumed = Promise.all([first, cancelled]).then(() => {
    stopped = JSON.parse(readFileSync(tmp('stopped', 'checkpoint.json'), 'utf8')).steps;
    return weft(['train', G, '--resume', tmp('part'), '--steps', String(stopped - 3), '--save', tmp('resumed'), '--json']);
  });
  // From inside DIR: `weft run` resolves weights files against the working folder, not yet the graph's.
  // from the repository root: the weights paths resolve against the saved graph's folder
  const trained = resumed.then(() => weft(['run', path.join(tmp('resumed'), 'graph.json'), '--outputs', 'score', '--json']));
  const F = tmp('flow.json');
  const moons = moonsFlowGraph();
  moons.nodes = moons.nodes.map((n) => (n.id === 'data' ? { ...n, params: { ...n.params, batchSize: 32 } } : n));
  moons.nodes.push(node('zOut', 'TensorOutput'));
  moons.edges.push({ ...wire(0, 'fwd.z -> zOut.x'), id: 'z-out' });
  writeFileSync(F, JSON.stringify(moons));
  const flow = weft(['train', F, '--steps', '2', '--save', tmp('flow'), '--json']);
  const flowRun = flow.then(() => weft(['run', path.join(tmp('flow'), 'graph.json'), '--json']));
  const ema = weft(['train', G, '--set', 'opt_d.ema=0.5', '--save', tmp('ema'), '--json']);
  const others = Promise.all([
    weft(['run', G, '--outputs', 'score', '--json']),
    weft(['train', path.join(ROOT, 'graphs/noise-blend.json'), '--json']),
    weft(['train', G, '--steps', '0']),
    weft(['train', G, '--trainer', 'opt_d']),
    weft(['train', G, '--resume', tmp('nowhere')]),
  ]);
  const [untrained, noTrainer, badSteps, badTrainer, badResume] = await others;
  runs = { first: await first, cancelled: await cancelled, resumed: await resumed, trained: await trained, untrained, noTrainer, badSteps, badTrainer, badResume, flow: await flow, flowRun: await flowRun, ema: await ema };
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weft train', () => {
  it('trains the trainer’s iterations by default, with a progress line every logInterval steps on stderr', () => {
    const { code, stdout, stderr } = runs.first;
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout); // --json: stdout holds the one object and nothing else
    expect(out).toMatchObject({ ok: true, trainer: 'trainer', backend: 'wasm', startStep: 0, steps: 3, stepsDone: 3 });
    expect(out.history.map((h: { step: number }) => h.step)).toEqual([0, 1, 2]);
    expect(out.final).toEqual(out.history[2].losses);
    const lines = stderr.trim().split('\n');
    expect(lines.map((l) => l.split('  ')[0])).toEqual(['step 2/3', 'step 3/3']);
    expect(lines[0]).toMatch(/^step 2\/3 {2}opt_d \d\.\d+ {2}opt_r \d\.\d+ {2}[\d.]+ steps\/s {2}ETA \d+s$/);
    expect(lines[1]).not.toContain('ETA');
  });

  it('--save writes each trained model, the loss history as CSV and JSON, and a checkpoint', () => {
    const out = JSON.parse(runs.first.stdout);
    const names = ['discA.safetensors', 'discB.safetensors', 'optimizer-opt_d.safetensors', 'optimizer-opt_r.safetensors', 'history.csv', 'history.json', 'graph.json', 'checkpoint.json'];
    expect(out.files).toEqual(names.map((n) => tmp('part', n)));
    const checkpoint = JSON.parse(readFileSync(tmp('part', 'checkpoint.json'), 'utf8'));
    expect(checkpoint).toMatchObject({
      format: 'weft.checkpoint',
      graph: 'two discriminators on moons',
      trainer: 'trainer',
      steps: 3,
      files: { discA: 'discA.safetensors', discB: 'discB.safetensors' },
      optimizers: { opt_d: 'optimizer-opt_d.safetensors', opt_r: 'optimizer-opt_r.safetensors' },
      backend: 'wasm',
    });
    // Adam's state: the step count and both moments of each of discA's variables
    const adam = safetensorsHeader(tmp('part', 'optimizer-opt_d.safetensors'));
    const weightsA = Object.keys(safetensorsHeader(tmp('part', 'discA.safetensors'))).filter((k) => k !== '__metadata__');
    expect(adam.iter).toMatchObject({ dtype: 'I32', shape: [] });
    expect(Object.keys(adam).filter((k) => k.endsWith('/m'))).toHaveLength(weightsA.length);
    expect(Object.keys(adam).filter((k) => k.endsWith('/v'))).toHaveLength(weightsA.length);
    expect(Object.keys(safetensorsHeader(tmp('part', 'optimizer-opt_r.safetensors'))).sort()).toEqual(['__metadata__', 'iter']);
    expect(Date.parse(checkpoint.date)).not.toBeNaN();
    const header = safetensorsHeader(tmp('part', 'discA.safetensors'));
    expect(header.__metadata__).toMatchObject({ weft_step: '3', weft_graph: 'two discriminators on moons', weft_node: 'discA' });
    expect(Object.keys(header).length).toBeGreaterThan(1);
    const csv = readFileSync(tmp('part', 'history.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,opt_d,opt_r,skipped');
    expect(csv).toHaveLength(4);
    expect(csv[3].split(',').map(Number).slice(0, 3)).toEqual([2, ...losses(out)[2]]);
    expect(JSON.parse(readFileSync(tmp('part', 'history.json'), 'utf8'))).toMatchObject({ optimizers: ['opt_d', 'opt_r'], history: out.history });
    expect(existsSync(tmp('part', 'discA.safetensors.partial'))).toBe(false);
  });

  it('Ctrl-C stops between steps, exits 130, and still saves a checkpoint at the last finished step', () => {
    const { code, stdout, stderr } = runs.cancelled;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain(`cancelled after ${stopped} steps`);
    noStackTrace(stderr);
    expect(stopped).toBeGreaterThanOrEqual(6);
    expect(stopped).toBeLessThan(100000);
    expect(stdout).toContain(`saved step ${stopped} to ${tmp('stopped')}`);
    expect(readFileSync(tmp('stopped', 'history.csv'), 'utf8').trim().split('\n')).toHaveLength(stopped + 1);
  });

  it('3 steps, then --resume up to N, gives the losses and the weights of N steps in one go (the Ctrl-C\'d run)', () => {
    expect(runs.resumed.code, runs.resumed.stderr).toBe(0);
    const resumed = JSON.parse(runs.resumed.stdout);
    expect(resumed).toMatchObject({ ok: true, startStep: 3, steps: stopped - 3, stepsDone: stopped });
    const oneGo = JSON.parse(readFileSync(tmp('stopped', 'history.json'), 'utf8'));
    const both = [...losses(JSON.parse(runs.first.stdout)), ...losses(resumed)];
    expect(both).toHaveLength(stopped);
    losses(oneGo).forEach(([d, r], i) => {
      expect(Math.abs(both[i][0] - d)).toBeLessThan(1e-5);
      expect(Math.abs(both[i][1] - r)).toBeLessThan(1e-5);
    });
    // the history is appended to, and the weights are the same bytes (what Ctrl-C saved is what was trained)
    expect(readFileSync(tmp('resumed', 'history.csv'), 'utf8')).toBe(readFileSync(tmp('stopped', 'history.csv'), 'utf8'));
    for (const f of ['discA.safetensors', 'discB.safetensors']) expect(readFileSync(tmp('resumed', f)).equals(readFileSync(tmp('stopped', f))), f).toBe(true);
  });

  it('weft run DIR/graph.json generates with the trained weights', () => {
    for (const r of [runs.trained, runs.untrained]) expect(r.code, r.stderr).toBe(0);
    const saved = JSON.parse(readFileSync(tmp('resumed', 'graph.json'), 'utf8'));
    expect(saved.nodes.find((n: { id: string }) => n.id === 'discA').params.weights).toBe('discA.safetensors');
    expect(scoreMean(runs.trained)).not.toBeCloseTo(scoreMean(runs.untrained), 3);
  });

  it('an optimizer with ema also saves the averaged weights, which graph.json generates from; its state file carries the average for --resume', () => {
    expect(runs.ema.code, runs.ema.stderr).toBe(0);
    const checkpoint = JSON.parse(readFileSync(tmp('ema', 'checkpoint.json'), 'utf8'));
    expect(checkpoint).toMatchObject({ files: { discA: 'discA.safetensors', discB: 'discB.safetensors' }, averaged: { discA: 'discA.ema.safetensors' } });
    const saved = JSON.parse(readFileSync(tmp('ema', 'graph.json'), 'utf8'));
    const weightsOf = (id: string) => saved.nodes.find((n: { id: string }) => n.id === id).params.weights;
    expect([weightsOf('discA'), weightsOf('discB')]).toEqual(['discA.ema.safetensors', 'discB.safetensors']);
    const raw = safetensorsHeader(tmp('ema', 'discA.safetensors'));
    const avg = safetensorsHeader(tmp('ema', 'discA.ema.safetensors'));
    expect(avg.__metadata__).toMatchObject({ weft_average: 'ema', weft_step: '3' });
    expect(Object.keys(avg).sort()).toEqual(Object.keys(raw).sort());
    expect(readFileSync(tmp('ema', 'discA.ema.safetensors')).equals(readFileSync(tmp('ema', 'discA.safetensors')))).toBe(false);
    const state = Object.keys(safetensorsHeader(tmp('ema', 'optimizer-opt_d.safetensors')));
    expect(state.filter((k) => k.endsWith('/ema'))).toHaveLength(Object.keys(raw).length - 1);
  });

  it('a flow (a chain of layer builders, one trained model) is saved as one file that every layer of the chain loads', () => {
    expect(runs.flow.code, runs.flow.stderr).toBe(0);
    expect(JSON.parse(readFileSync(tmp('flow', 'checkpoint.json'), 'utf8')).files).toEqual({ c2: 'c2.safetensors' });
    const saved = JSON.parse(readFileSync(tmp('flow', 'graph.json'), 'utf8'));
    const weightsOf = (id: string) => saved.nodes.find((n: { id: string }) => n.id === id).params.weights;
    expect(['act', 'c1', 'mix', 'c2'].map(weightsOf)).toEqual(Array(4).fill('c2.safetensors'));
    expect(runs.flowRun.code, runs.flowRun.stderr).toBe(0);
    expect(Number.isFinite(JSON.parse(runs.flowRun.stdout).outputs.zOut.values.mean)).toBe(true);
  });

  it('a graph without a trainer exits 1 with the not-trainable issue', () => {
    expect(runs.noTrainer.code).toBe(1);
    expect(JSON.parse(runs.noTrainer.stdout)).toEqual({ ok: false, errors: [expect.objectContaining({ code: 'not-trainable', message: expect.stringContaining('no trainer') })] });
  });

  it('bad flags exit 2 with one line that names the valid choices', () => {
    expect(runs.badSteps.code).toBe(2);
    expect(runs.badSteps.stderr).toContain('--steps expects a whole number of 1 or more, got "0"');
    expect(runs.badTrainer.code).toBe(2);
    expect(runs.badTrainer.stderr).toContain('--trainer "opt_d": node "opt_d" (Optimizer) is not a Trainer; trainers are "trainer"');
    expect(runs.badResume.code).toBe(2);
    expect(runs.badResume.stderr).toContain(`cannot read ${tmp('nowhere', 'checkpoint.json')}: no such file`);
    for (const r of [runs.badSteps, runs.badTrainer, runs.badResume]) noStackTrace(r.stderr);
  });
});
