/**
 * The seed page in real Chromium: backend choice and reason, cross-origin isolation, and the
 * preview pixels, checked against the same graph run headlessly in Node (wasm) and gridded by the
 * same imageGrid: the editor and the CLI must draw the same picture.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { createRuntime, imageGrid, loadGraph, type RGBAImage, type Runtime, type TensorData } from '../src/index.ts';

const TOLERANCE = 2; // per 8-bit channel: webgpu's float math may round a value across a step

let node: Runtime;
const expected = new Map<string, RGBAImage>();

test.beforeAll(async () => {
  node = await createRuntime({ backend: 'wasm' });
});

/** The picture the page should draw for an example graph's ImageOutput "preview", computed in Node. */
async function expectedPreview(graph: string): Promise<RGBAImage> {
  const hit = expected.get(graph);
  if (hit) return hit;
  const doc = loadGraph(readFileSync(new URL(`../graphs/${graph}.json`, import.meta.url), 'utf8'));
  const res = await node.run(doc, { outputs: ['preview'] });
  const columns = Number(node.compile(doc).plan!.byId.get('preview')!.params.columns ?? 0);
  const img = imageGrid(res.outputs.preview.image as TensorData, columns);
  expected.set(graph, img);
  return img;
}

async function openAndRun(page: Page, query: string) {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`/${query}`);
  await expect(page.getByTestId('backend')).not.toHaveText('…');
  // Nothing runs by itself (a shared graph must not): the page waits for Run.
  expect(await page.evaluate(() => window.__weft?.lastResult)).toBeUndefined();
  await expect(page.getByTestId('status')).toHaveText('idle');
  await page.getByTestId('run').click();
  await expect(page.getByTestId('status')).toHaveText('done');
  expect(errors).toEqual([]);
}

async function canvasPixels(page: Page): Promise<RGBAImage> {
  // the ImageOutput node "preview" draws on its canvas preview-<node id>
  return page.getByTestId('preview-preview').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, rgba: Array.from(data) as unknown as Uint8ClampedArray };
  });
}

function expectSamePicture(actual: RGBAImage, want: RGBAImage) {
  expect([actual.width, actual.height]).toEqual([want.width, want.height]);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.rgba.length; i++) {
    const d = Math.abs(actual.rgba[i] - want.rgba[i]);
    if (d > worst) [worst, at] = [d, i];
  }
  expect(worst, `largest channel difference ${worst} at byte ${at}`).toBeLessThanOrEqual(TOLERANCE);
}

test('auto picks wasm over the software WebGPU adapter and draws the expected preview', async ({ page }) => {
  await openAndRun(page, '');
  await expect(page.getByTestId('backend')).toHaveText('wasm');
  await expect(page.getByTestId('backend-reason')).toContainText(/software adapter/i);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const weft = await page.evaluate(() => window.__weft);
  expect(weft?.backend?.adapter?.fallback).toBe(true);
  expect(weft?.lastResult?.image?.nodeId).toBe('preview');
  expectSamePicture(await canvasPixels(page), await expectedPreview('noise-blend'));
});

test('?backend=webgpu runs on WebGPU and draws the same preview', async ({ page }) => {
  await openAndRun(page, '?backend=webgpu');
  await expect(page.getByTestId('backend')).toHaveText('webgpu');
  await expect(page.getByTestId('backend-reason')).toContainText('webgpu requested');
  expectSamePicture(await canvasPixels(page), await expectedPreview('noise-blend'));
});

test('?graph= picks another example and the Run button reruns it from the cache', async ({ page }) => {
  await openAndRun(page, '?graph=tinted-noise&backend=wasm');
  expectSamePicture(await canvasPixels(page), await expectedPreview('tinted-noise'));
  await page.evaluate(() => delete window.__weft!.lastResult);
  await page.getByTestId('run').click();
  await page.waitForFunction(() => window.__weft?.lastResult);
  await expect(page.getByTestId('status')).toHaveText('done');
  const nodes = await page.evaluate(() => window.__weft!.lastResult!.nodes);
  expect(Object.values(nodes).map((n) => n.status)).toContain('cached');
  await expect(page.getByTestId('node-soften')).toBeVisible();
});
