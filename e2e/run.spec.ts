/**
 * Running and training in the editor, in real Chromium: per-node badges (done, cached) after a
 * one-param edit, a forced WebGPU run (SwiftShader here) drawing the wasm picture, switching the
 * backend, training a small VAE with a falling loss curve, Pause/Resume, Stop, and a checkpoint
 * stored in IndexedDB that the graph then runs from.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { graph } from '../src/runtime/testing.ts';
import { createRuntime, imageGrid, loadGraph, setParam, type GraphDoc, type RGBAImage, type Runtime, type TensorData } from '../src/index.ts';

/** Per 8-bit channel, WebGPU vs wasm after 10 sampler steps and a VAE decode (measured worst: see docs/running.md). */
const WEBGPU_TOLERANCE = 3;

const graphFile = (path: string) => loadGraph(readFileSync(new URL(path, import.meta.url), 'utf8'));

let node: Runtime;
test.beforeAll(async () => {
  node = await createRuntime({ backend: 'wasm' });
});
test.afterAll(() => node.dispose());

async function openPage(page: Page, query: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/${query}`);
  await expect(page.getByTestId('backend')).not.toHaveText('…');
  // a graph never runs by itself
  expect(await page.evaluate(() => window.__weft?.lastResult)).toBeUndefined();
  return errors;
}

/** Click Run and wait for this run's result. */
async function run(page: Page) {
  await page.evaluate(() => delete window.__weft!.lastResult);
  await page.getByTestId('run').click();
  await page.waitForFunction(() => window.__weft?.lastResult || window.__weft?.run?.status === 'error');
  await expect(page.getByTestId('status')).toHaveText('done');
}

async function canvasPixels(page: Page, testId: string): Promise<RGBAImage> {
  return page.getByTestId(testId).evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, rgba: Array.from(data) as unknown as Uint8ClampedArray };
  });
}

function worstDifference(actual: RGBAImage, want: RGBAImage): number {
  expect([actual.width, actual.height]).toEqual([want.width, want.height]);
  let worst = 0;
  for (let i = 0; i < want.rgba.length; i++) worst = Math.max(worst, Math.abs(actual.rgba[i] - want.rgba[i]));
  return worst;
}

async function nodePicture(doc: GraphDoc, id: string): Promise<RGBAImage> {
  const res = await node.run(doc, { outputs: [id] });
  return imageGrid(res.outputs[id].image as TensorData, Number(node.compile(doc).plan!.byId.get(id)!.params.columns ?? 0));
}

test('changing only the CFG scale and rerunning shows the text encoder as cached', async ({ page }) => {
  const errors = await openPage(page, '?graph=latent-diffusion&backend=wasm');
  await run(page);
  for (const id of ['prompt', 'textEncoder', 'encode', 'unet', 'sampler', 'vae', 'decode', 'image']) await expect(page.getByTestId(`badge-${id}`)).toContainText('done');
  // the picture is the one the same graph gives in Node
  const want = await nodePicture(graphFile('../graphs/latent-diffusion.json'), 'image');
  expect(worstDifference(await canvasPixels(page, 'preview-image'), want)).toBeLessThanOrEqual(1);

  const cfg = page.getByTestId('param-sampler-cfgScale');
  await cfg.fill('7.5');
  await cfg.press('Enter');
  await expect.poll(() => page.evaluate(() => window.__weft!.editor!.getDoc().nodes.find((n) => n.id === 'sampler')!.params.cfgScale)).toBe(7.5);
  await run(page);
  for (const id of ['prompt', 'textEncoder', 'encode', 'unet', 'noise', 'scheduler', 'vae']) await expect(page.getByTestId(`badge-${id}`)).toContainText('cached');
  for (const id of ['sampler', 'decode', 'image']) await expect(page.getByTestId(`badge-${id}`)).toContainText('done');
  const nodes = await page.evaluate(() => window.__weft!.lastResult!.nodes);
  expect(nodes.textEncoder.status).toBe('cached');
  expect(nodes.sampler.status).toBe('ran');
  await expect(page.getByTestId('cache-stats')).toContainText(/[1-9]\d* hits/);
  expect(errors).toEqual([]);
});

test('Stop cancels a run inside the sampler: stopped, with the sampler back to idle and its inputs done', async ({ page }) => {
  const errors = await openPage(page, '?graph=latent-diffusion&backend=wasm');
  const steps = page.getByTestId('param-sampler-steps');
  await steps.fill('400');
  await steps.press('Enter');
  await expect.poll(() => page.evaluate(() => window.__weft!.editor!.getDoc().nodes.find((n) => n.id === 'sampler')!.params.steps)).toBe(400);
  await page.getByTestId('run').click();
  // the sampler's badge shows its steps and a progress bar while it runs
  await expect(page.getByTestId('badge-sampler')).toContainText(/running.*step \d+\/400/);
  await expect(page.getByTestId('badge-sampler').getByRole('progressbar')).toBeVisible();
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('status')).toHaveText('stopped');
  await expect(page.getByTestId('badge-sampler')).toHaveCount(0); // idle: no badge
  await expect(page.getByTestId('badge-encode')).toContainText('done');
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a forced WebGPU run (?backend=webgpu) draws the picture the wasm run draws, within a tolerance', async ({ page }) => {
  const errors = await openPage(page, '?graph=latent-diffusion&backend=webgpu');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('backend-reason')).toContainText('webgpu requested');
  await run(page);
  await expect(page.getByTestId('badge-sampler')).toContainText('done');
  const want = await nodePicture(graphFile('../graphs/latent-diffusion.json'), 'image');
  const worst = worstDifference(await canvasPixels(page, 'preview-image'), want);
  console.log(`webgpu vs wasm, latent-diffusion image: largest channel difference ${worst}/255`);
  expect(worst).toBeLessThanOrEqual(WEBGPU_TOLERANCE);
  expect(errors).toEqual([]);
});

test('the backend select switches the runtime, says why, and keeps the choice in the address', async ({ page }) => {
  await openPage(page, '?graph=noise-blend');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('backend-reason')).toContainText(/software adapter/i);
  await run(page);
  const wasm = await canvasPixels(page, 'preview-preview');
  await page.getByTestId('backend-select').selectOption('cpu');
  await expect(page.getByTestId('backend')).toHaveText('cpu');
  await expect(page.getByTestId('backend-reason')).toHaveText('cpu requested');
  expect(new URL(page.url()).searchParams.get('backend')).toBe('cpu');
  await run(page);
  // another backend is another cache: everything ran again, and drew the same picture
  await expect(page.getByTestId('badge-blend')).toContainText('done');
  expect(worstDifference(await canvasPixels(page, 'preview-preview'), wasm)).toBeLessThanOrEqual(1);
  await page.getByTestId('cache-clear').click();
  await expect(page.getByTestId('cache-stats')).toContainText('cache: 0 entries');
});

test('training a small VAE draws a falling loss curve; Pause resumes the step count; Stop stops; a checkpoint runs from IndexedDB', async ({ page }) => {
  test.setTimeout(240_000);
  const errors = await openPage(page, '?backend=wasm');
  const doc = graphFile('./fixtures/vae-train.json');
  await page.evaluate((d) => window.__weft!.editor!.open(d, d.name), doc);
  await expect(page.getByTestId('node-trainer')).toBeVisible();
  const steps = () => page.evaluate(() => window.__weft!.run!.train.stepsDone);

  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-status')).toHaveText('training');
  await expect.poll(steps, { timeout: 120_000 }).toBeGreaterThanOrEqual(4);
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('train-status')).toHaveText('paused');
  const pausedAt = await steps();
  await page.waitForTimeout(1000);
  expect(await steps()).toBe(pausedAt);
  await expect(page.getByTestId('train')).toHaveText(/Resume/);

  await page.getByTestId('train').click();
  await expect.poll(steps, { timeout: 120_000 }).toBeGreaterThanOrEqual(pausedAt + 8);
  await expect(page.getByTestId('badge-trainer')).toContainText('running');
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('train-status')).toHaveText('stopped');
  const stoppedAt = await steps();
  await page.waitForTimeout(1500);
  expect(await steps()).toBe(stoppedAt);
  await expect(page.getByTestId('train-step')).toContainText(`step ${stoppedAt}`);

  // the curve the panel drew: one value per step, consecutive steps across the pause, falling
  const hook = await page.evaluate(() => ({ plots: window.__weft!.plots!, losses: window.__weft!.run!.train.losses }));
  const curve = hook.plots['loss-curve'].opt;
  expect(curve).toEqual(hook.losses.opt);
  expect(curve).toHaveLength(stoppedAt);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(curve.slice(-3))).toBeLessThan(0.8 * mean(curve.slice(0, 3)));
  // the Plot node fed by the same loss draws the same history
  expect(hook.plots['plot-curve'].opt).toEqual(curve);
  await expect(page.getByTestId('loss-curve')).toBeVisible();
  await expect(page.getByTestId('plot-curve')).toBeVisible();

  // Save checkpoint: weights into IndexedDB, the VAE's weights param pointed at them (undoable)
  await page.getByTestId('save-checkpoint').click();
  await expect(page.getByTestId('train-message')).toContainText(`saved step ${stoppedAt}`);
  const ref = await page.evaluate(() => window.__weft!.editor!.getDoc().nodes.find((n) => n.id === 'vae')!.params.weights as string);
  expect(ref).toBe(`idb:small-vae-training-e2e-fixture/vae/step-${stoppedAt}`);
  await run(page);
  await expect(page.getByTestId('badge-vae')).toContainText('done'); // rebuilt from the stored file
  await expect(page.getByTestId('preview-reconstruction')).toBeVisible();
  expect(errors).toEqual([]);
});

test('the VAE example (graphs/mnist-vae.json), trained from its seeds for a few dozen steps, draws a falling loss curve; Stop stops it', async ({ page }) => {
  test.setTimeout(180_000);
  const errors = await openPage(page, '?graph=mnist-vae&backend=wasm');
  // train from scratch: the example with its weights params emptied (it ships trained weights)
  let doc = graphFile('../graphs/mnist-vae.json');
  for (const id of ['encoder', 'decoder']) doc = setParam(doc, id, 'weights', '');
  await page.evaluate((d) => window.__weft!.editor!.open(d, d.name), doc);
  await expect.poll(() => page.evaluate(() => window.__weft!.editor!.getDoc().nodes.filter((n) => n.type === 'MLP' && n.params.weights).length)).toBe(0);
  const steps = () => page.evaluate(() => window.__weft!.run!.train.stepsDone);
  await page.getByTestId('train').click();
  await expect.poll(steps, { timeout: 120_000 }).toBeGreaterThanOrEqual(40);
  await expect(page.getByTestId('train-rate')).toContainText('steps/s');
  await page.getByTestId('train-stop').click();
  await expect(page.getByTestId('train-status')).toHaveText('stopped');
  const stoppedAt = await steps();
  await page.waitForTimeout(1500);
  expect(await steps()).toBe(stoppedAt);
  const curve = await page.evaluate(() => window.__weft!.plots!['loss-curve'].opt);
  expect(curve).toHaveLength(stoppedAt);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`mnist-vae: -ELBO ${mean(curve.slice(0, 5)).toFixed(1)} (steps 0-4) -> ${mean(curve.slice(-5)).toFixed(1)} (last 5 of ${stoppedAt})`);
  expect(mean(curve.slice(-5))).toBeLessThan(0.8 * mean(curve.slice(0, 5)));
  expect(errors).toEqual([]);
});

test('a Plot draws points [N, 2] as a scatter coloured by label', async ({ page }) => {
  const errors = await openPage(page, '?backend=wasm');
  const doc = graph(
    [
      ['moons', 'Dataset', { name: 'moons', batchSize: 64, seed: 4 }],
      ['scatter', 'Plot'],
    ],
    ['moons.batch -> scatter.points', 'moons.labels -> scatter.labels'],
  );
  await page.evaluate((d) => window.__weft!.editor!.open(d, d.name), doc);
  await run(page);
  await expect(page.getByTestId('plot-scatter')).toBeVisible();
  const want = await node.run(doc, { outputs: ['moons'] });
  const drawn = await page.evaluate(() => window.__weft!.plots!['plot-scatter']['(points)']);
  expect(drawn).toEqual(Array.from((want.outputs.moons.batch as TensorData).data));
  expect(errors).toEqual([]);
});

test('a failing node shows error with its message, and thumbnails draw any tensor on demand', async ({ page }) => {
  const errors = await openPage(page, '?graph=latent-diffusion&backend=wasm');
  // thumbnails on demand: the noise latents, channel by channel
  // (dispatched: on the example's layout the node below overlaps the grown noise node)
  await page.getByTestId('thumb-noise').dispatchEvent('click');
  await expect(page.getByTestId('thumb-noise-out')).toBeVisible();
  const thumb = await canvasPixels(page, 'thumb-noise-out');
  expect([thumb.width, thumb.height]).toEqual([4 * 8 + 3, 2 * 8 + 1]);

  const doc = setParam(graphFile('../graphs/latent-diffusion.json'), 'vae', 'weights', 'missing-vae.safetensors');
  await page.evaluate((d) => window.__weft!.editor!.open(d, d.name), doc);
  await page.getByTestId('run').click();
  await expect(page.getByTestId('status')).toHaveText('error');
  await expect(page.getByTestId('badge-vae')).toContainText('error');
  await expect(page.getByTestId('badge-vae')).toContainText('missing-vae.safetensors');
  await expect(page.getByTestId('run-error')).toContainText('missing-vae.safetensors');
  expect(errors).toEqual([]);
});
