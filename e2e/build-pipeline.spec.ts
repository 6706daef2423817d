/**
 * A new user builds the latent-diffusion pipeline of graphs/latent-diffusion.json from an empty
 * canvas with the palette and wire drags only (every node but the first is made by dropping a
 * wire on empty canvas), types a few small params, presses Run and gets a picture: the preview's
 * pixels are checked against the same graph run headlessly in Node (wasm) and gridded by the same
 * imageGrid.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { createRuntime, imageGrid, loadGraph, type GraphDoc, type TensorData } from '../src/index.ts';
import { docOf, graph, handle, openEditor, paneOrigin, setParam, wireToNew } from './canvas.ts';

test.use({ viewport: { width: 1600, height: 1000 } });

const TOLERANCE = 2; // per 8-bit channel, as e2e/page.spec.ts

/** The wiring as kind-to-kind lines, independent of node ids. */
function wiring(doc: GraphDoc): string[] {
  const type = new Map(doc.nodes.map((n) => [n.id, n.type]));
  return doc.edges.map((e) => `${type.get(e.from.node)}.${e.from.port} -> ${type.get(e.to.node)}.${e.to.port}`).sort();
}

test('a new user builds latent diffusion from an empty canvas, runs it and sees the picture Node computes', async ({ page }) => {
  test.setTimeout(300_000);
  await openEditor(page, graph([]));
  const o = await paneOrigin(page);
  // the first node from the palette (double-click on the canvas)
  await page.mouse.dblclick(o.x + 640, o.y + 70);
  await page.getByTestId('palette-search').fill('noise');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-noiseSource')).toBeVisible();

  // every other node: a wire dropped on empty canvas, a palette filtered to what fits, Enter
  await wireToNew(page, handle(page, 'noiseSource', 'out', 'out'), { x: 640, y: 300 }, 'sampler');
  await wireToNew(page, handle(page, 'sampler', 'in', 'unet'), { x: 300, y: 70 }, 'unet');
  await wireToNew(page, handle(page, 'sampler', 'in', 'scheduler'), { x: 20, y: 70 }, 'scheduler');
  await wireToNew(page, handle(page, 'sampler', 'in', 'context'), { x: 300, y: 560 }, 'encode');
  await wireToNew(page, handle(page, 'encodeText', 'in', 'model'), { x: 20, y: 530 }, 'text encoder');
  await wireToNew(page, handle(page, 'encodeText', 'in', 'text'), { x: 330, y: 440 }, 'text');
  await wireToNew(page, handle(page, 'sampler', 'out', 'out'), { x: 960, y: 70 }, 'vae decode');
  await wireToNew(page, handle(page, 'vaeDecode', 'in', 'model'), { x: 960, y: 420 }, 'vae');
  await wireToNew(page, handle(page, 'vaeDecode', 'out', 'image'), { x: 960, y: 200 }, 'image output');

  const want = loadGraph(readFileSync(new URL('../graphs/latent-diffusion.json', import.meta.url), 'utf8'));
  const withoutTensorOutput = { ...want, edges: want.edges.filter((e) => e.to.node !== 'latent') };
  expect(wiring(await docOf(page))).toEqual(wiring(withoutTensorOutput));
  await expect(page.locator('.weft-node.error')).toHaveCount(0);

  // small params, typed into the widgets
  await setParam(page, 'text', 'text', 'a red circle on a blue square\na green triangle at night');
  await setParam(page, 'noiseSource', 'shape', '2, 8, 8, 4');
  await setParam(page, 'noiseSource', 'seed', '42');
  await setParam(page, 'sampler', 'steps', '4');
  await setParam(page, 'vae', 'inChannels', '3');
  await setParam(page, 'imageOutput', 'columns', '2');
  await expect(page.getByTestId('port-vaeDecode-out-image')).toContainText('[2, 32, 32, 3]');
  await expect(page.locator('.weft-node.error')).toHaveCount(0);

  await page.getByTestId('run').click();
  await expect(page.getByTestId('status')).toHaveText('done', { timeout: 120_000 });
  const shown = await page.getByTestId('preview-imageOutput').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    return { width: c.width, height: c.height, rgba: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
  });

  // the same graph, headless
  const doc = await docOf(page);
  const rt = await createRuntime({ backend: 'wasm' });
  try {
    const res = await rt.run(doc, { outputs: ['imageOutput'] });
    const img = imageGrid(res.outputs.imageOutput.image as TensorData, 2);
    expect([shown.width, shown.height]).toEqual([img.width, img.height]);
    expect([img.width, img.height]).toEqual([64, 32]);
    let worst = 0;
    for (let i = 0; i < img.rgba.length; i++) worst = Math.max(worst, Math.abs(shown.rgba[i] - img.rgba[i]));
    expect(worst, 'largest channel difference').toBeLessThanOrEqual(TOLERANCE);
    // a picture, not a blank: the decoder's output varies
    expect(new Set(img.rgba).size).toBeGreaterThan(16);
  } finally {
    rt.dispose();
  }
});
