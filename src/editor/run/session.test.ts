/**
 * RunSession against a real runtime (wasm, in Node): per-node states from run events, cache hits
 * after a one-param edit, Stop, errors on their node, Pause/Resume continuing the step count, and a
 * checkpoint that points the graph at stored weights which reproduce the trained model.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraph, setParam, type GraphDoc } from '../../graph/index.ts';
import { createRegistry } from '../../nodes/index.ts';
import { nodePlatform } from '../../runtime/platform-node.ts';
import { createRuntimeWith, parseSafetensors, type Runtime, type TensorData } from '../../runtime/index.ts';
import { RunSession, type RunSnapshot } from './session.ts';

const read = (path: string) => loadGraph(readFileSync(new URL(path, import.meta.url), 'utf8'));
const ldm = read('../../../graphs/latent-diffusion.json');
const vaeTrain = read('../../../e2e/fixtures/vae-train.json');

/** Weights "in IndexedDB": a map the platform resolves `idb:<key>` from. */
const stored = new Map<string, Uint8Array>();
let rt: Runtime;
beforeAll(async () => {
  const platform = {
    ...nodePlatform,
    readFile: (path: string, baseDir?: string) => {
      if (!path.startsWith('idb:')) return nodePlatform.readFile(path, baseDir);
      const bytes = stored.get(path.slice(4));
      return bytes ? Promise.resolve(bytes) : Promise.reject(new Error(`no weights "${path}"`));
    },
  };
  rt = await createRuntimeWith({ backend: 'wasm', registry: createRegistry(), platform });
});
afterAll(() => rt.dispose());

function session(doc: GraphDoc) {
  const s = new RunSession(doc, {
    backend: 'wasm',
    getRuntime: async () => rt,
    putWeights: async (key, bytes) => (stored.set(key, bytes), key),
  });
  const seen: RunSnapshot[] = [];
  s.subscribe(() => seen.push(s.getSnapshot()));
  return { s, seen };
}

describe('runs', () => {
  it('a rerun after changing only the CFG scale shows the text encoder as cached and reports sampler steps', async () => {
    rt.clearCache();
    const { s, seen } = session(ldm);
    await s.run();
    expect(s.getSnapshot().status).toBe('done');
    for (const id of ['prompt', 'textEncoder', 'encode', 'sampler', 'decode', 'image']) expect(s.getSnapshot().states[id]?.status).toBe('done');
    // every node was queued before it ran, and the sampler reported its 10 steps as it went
    expect(seen.some((x) => x.states.decode?.status === 'queued')).toBe(true);
    const samplerProgress = seen.map((x) => x.states.sampler).filter((st) => st?.status === 'running' && st.progress !== undefined);
    expect(samplerProgress.map((st) => st!.detail)).toContain('step 10/10');
    expect(s.getSnapshot().images.image).toMatchObject({ width: 64, height: 32 });

    // the edit makes the sampler's state and everything downstream stale; upstream keeps "done"
    s.setDoc(setParam(ldm, 'sampler', 'cfgScale', 7.5));
    for (const id of ['sampler', 'decode', 'image', 'latent']) expect(s.getSnapshot().states[id], id).toBeUndefined();
    expect(s.getSnapshot().images.image).toBeUndefined(); // the picture no longer stands for this graph
    for (const id of ['textEncoder', 'unet', 'vae']) expect(s.getSnapshot().states[id].status, id).toBe('done');
    await s.run();
    const st = s.getSnapshot().states;
    for (const id of ['prompt', 'textEncoder', 'encode', 'unet', 'noise', 'scheduler', 'vae']) expect(st[id].status, id).toBe('cached');
    for (const id of ['sampler', 'decode', 'image', 'latent']) expect(st[id].status, id).toBe('done');
    expect(st.sampler.ms).toBeGreaterThan(0);
    expect(s.getSnapshot().cache!.hits).toBeGreaterThanOrEqual(7);
  });

  it('Stop cancels a run between sampler steps: stopped, nothing left queued or running', async () => {
    rt.clearCache();
    const { s } = session(setParam(ldm, 'sampler', 'steps', 50));
    s.subscribe(() => {
      const sampler = s.getSnapshot().states.sampler;
      if (sampler?.status === 'running' && (sampler.progress ?? 0) > 0.1) s.stop();
    });
    await s.run();
    const snap = s.getSnapshot();
    expect(snap.status).toBe('stopped');
    expect(snap.error).toBeUndefined();
    expect(Object.values(snap.states).filter((x) => x.status === 'queued' || x.status === 'running')).toEqual([]);
    expect(snap.states.textEncoder.status).toBe('done');
    expect(snap.states.sampler).toEqual({ status: 'idle' }); // where the cancel landed: not an error
  });

  it('a failing node shows error with its message, and the run ends in error', async () => {
    const { s } = session(setParam(ldm, 'vae', 'weights', 'no-such.safetensors'));
    await s.run();
    const snap = s.getSnapshot();
    expect(snap.status).toBe('error');
    expect(snap.states.vae).toMatchObject({ status: 'error', message: expect.stringContaining('no-such.safetensors') });
  });

  it('opening another graph leaves nothing of the last run: idle, no states, no pictures', async () => {
    const { s } = session(ldm);
    await s.run();
    s.setDoc(vaeTrain);
    expect(s.getSnapshot()).toMatchObject({ status: 'idle', states: {}, images: {}, outputs: {} });
    expect(s.getSnapshot().lastRun).toBeUndefined();
  });

  it('thumbnails on demand read every output of one node', async () => {
    const { s } = session(ldm);
    await s.peek('noise');
    expect((s.getSnapshot().peeks.noise.out as TensorData).shape).toEqual([2, 8, 8, 4]);
  });
});

describe('training', () => {
  it('Pause stops between steps and Resume continues the step count to the same target; Stop ends; Train continues', async () => {
    rt.clearCache();
    const doc = setParam(vaeTrain, 'trainer', 'iterations', 6);
    const { s } = session(doc);
    let paused = false;
    const off = s.subscribe(() => {
      if (!paused && s.getSnapshot().train.stepsDone >= 2) (paused = true), s.pause();
    });
    await s.train();
    off();
    let t = s.getSnapshot().train;
    expect(t.phase).toBe('paused');
    const at = t.stepsDone;
    expect(at).toBeGreaterThanOrEqual(2);
    expect(at).toBeLessThan(6);
    expect(s.getSnapshot().states.trainer).toMatchObject({ status: 'idle', detail: `paused at step ${at}/6` });

    await s.train();
    t = s.getSnapshot().train;
    expect(t.phase).toBe('done');
    expect(t.history.map((h) => h.step)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(t.history.every((h) => Number.isFinite(h.losses.opt))).toBe(true);
    expect(s.getSnapshot().states.trainer.status).toBe('done');

    // Train again: another `iterations` steps from step 6; Stop ends it where it is.
    const off2 = s.subscribe(() => {
      if (s.getSnapshot().train.stepsDone >= 8) s.stopTraining();
    });
    await s.train();
    off2();
    t = s.getSnapshot().train;
    expect(t.phase).toBe('stopped');
    expect(t.history[6].step).toBe(6);
    expect(t.stepsDone).toBeLessThan(12);
  });

  it('a graph that cannot train says why, on the panel and on the node', async () => {
    const doc = vaeTrain;
    const broken = { ...doc, edges: doc.edges.filter((e) => !(e.to.node === 'opt' && e.to.port === 'models')) };
    const { s } = session(broken);
    await s.train();
    const snap = s.getSnapshot();
    expect(snap.train.phase).toBe('error');
    expect(snap.train.message).toMatch(/updates no models/);
    expect(snap.states.opt).toMatchObject({ status: 'error', message: expect.stringMatching(/updates no models/) });
  });

  it('Save checkpoint stores safetensors, points the builder at idb:<key> in one edit, and the weights reproduce the trained model', async () => {
    rt.clearCache();
    let doc = setParam(vaeTrain, 'trainer', 'iterations', 3);
    const { s } = session(doc);
    const edits: string[] = [];
    s.setEdit((label, recipe) => {
      const draft = structuredClone(doc);
      recipe(draft);
      doc = draft;
      edits.push(label);
    });
    await s.train();
    await s.run();
    const trained = s.getSnapshot().outputs.reconstruction.image as TensorData;
    await s.saveCheckpoint();
    const t = s.getSnapshot().train;
    expect(t.message).toMatch(/^saved step 3/);
    expect(edits).toEqual(['Use the weights trained to step 3']);
    const ref = doc.nodes.find((n) => n.id === 'vae')!.params.weights as string;
    expect(ref).toBe(t.checkpoint!.refs.vae);
    expect(ref).toMatch(/^idb:small-vae-training-e2e-fixture\/vae\/step-3$/);
    const file = parseSafetensors(stored.get(ref.slice(4))!);
    expect(file.metadata).toMatchObject({ node: 'vae', step: '3' });
    expect(file.tensors.size).toBeGreaterThan(4);

    // a fresh cache: the VAE is rebuilt from the stored weights and decodes as the trained one did
    rt.clearCache();
    s.setDoc(doc);
    await s.run();
    expect(s.getSnapshot().states.vae.status).toBe('done');
    const again = s.getSnapshot().outputs.reconstruction.image as TensorData;
    expect(Array.from(again.data)).toEqual(Array.from(trained.data));

    // training on from the checkpoint (Adam's moments carried over) continues the straight run exactly
    await s.train();
    const continued = s.getSnapshot().train.history.map((h) => h.losses.opt);
    rt.clearCache();
    const straight = session(setParam(vaeTrain, 'trainer', 'iterations', 6)).s;
    await straight.train();
    expect(continued).toEqual(straight.getSnapshot().train.history.map((h) => h.losses.opt));
  });
});
