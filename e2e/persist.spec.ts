/**
 * Saving and sharing in real Chromium: an edit survives a reload (IndexedDB), and export/import
 * JSON, the share link and the PNG each bring back the identical graph (compared as the JSON
 * serializeGraph writes, from window.__weft.editor.getDoc()). A shared graph opens without
 * running; damaged links and PNGs without a graph say so. The library renames, duplicates and
 * deletes.
 */
import { expect, test, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { loadGraph, serializeGraph, type GraphDoc } from '../src/graph/index.ts';
import { embedGraph, graphTextFromPng } from '../src/graph/png.ts';
import '../src/editor/global.ts';

const example = (name: string) => loadGraph(readFileSync(new URL(`../graphs/${name}.json`, import.meta.url), 'utf8'));

/** noise-blend with edits a user might make: a param, a moved node, a note Weft does not know. */
function edited(): GraphDoc {
  const doc = example('noise-blend');
  doc.name = 'Blend, édité ✓';
  doc.nodes[0].params.seed = 42;
  doc.nodes[2].position = { x: 333, y: 99 };
  doc.meta.note = 'unknown fields survive';
  return doc;
}

async function openEditor(page: Page, path = '/'): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(path);
  await page.waitForFunction(() => !!window.__weft?.editor?.getDoc && !!window.__weft?.persist);
  return errors;
}

const docText = async (page: Page) => serializeGraph(await page.evaluate(() => window.__weft!.editor!.getDoc()));
const open = (page: Page, doc: GraphDoc, name?: string) => page.evaluate(([d, n]) => window.__weft!.editor!.open(d, n), [doc, name] as const);
const fileMenu = async (page: Page) => {
  if (!(await page.getByTestId('file-panel').isVisible())) await page.getByTestId('file-menu').click();
};

async function downloadBytes(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
}

/** Drops a file on the page as a user dragging it from the desktop would. */
async function dropFile(page: Page, name: string, bytes: Uint8Array, type: string) {
  await page.evaluate(
    ([name, data, type]) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], name, { type }));
      const target = document.querySelector('.react-flow') ?? document.body;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    [name, Array.from(bytes), type] as const,
  );
}

test('an edit is restored from IndexedDB after a reload, even one made just before it', async ({ page }) => {
  const errors = await openEditor(page);
  expect(await page.evaluate(() => window.__weft!.start!.source)).toBe('example');
  const doc = edited();
  const want = serializeGraph(doc);
  // Reload within the debounce window, right after the edit has rendered: the flush on pagehide
  // must carry it.
  const reloaded = page.waitForEvent('load');
  await page.evaluate(async (d) => {
    window.__weft!.editor!.open(d, 'my blend');
    await new Promise((r) => setTimeout(r, 20));
    location.reload();
  }, doc);
  await reloaded;
  await page.waitForFunction(() => !!window.__weft?.editor?.getDoc);
  expect(await page.evaluate(() => window.__weft!.start!.source)).toBe('autosave');
  expect(await docText(page)).toBe(want);
  await expect(page.getByTestId('graph-name')).toHaveText('my blend');

  // and once the debounced write has landed, the record in the database is the graph
  await open(page, example('tinted-noise'));
  const next = serializeGraph(example('tinted-noise'));
  await expect.poll(() => page.evaluate(async () => (await window.__weft!.persist!.db.readAutosave())?.json)).toBe(next);
  expect(errors).toEqual([]);
});

test('?graph= takes precedence over the autosave, and a reload after it reopens the autosave', async ({ page }) => {
  const errors = await openEditor(page);
  await open(page, edited());
  await page.evaluate(() => window.__weft!.persist!.flush());
  await openEditor(page, '/?graph=tinted-noise&backend=wasm');
  expect(await docText(page)).toBe(serializeGraph(example('tinted-noise')));
  expect(new URL(page.url()).search).toBe('?backend=wasm');
  await page.evaluate(() => window.__weft!.persist!.flush());
  await page.reload();
  await page.waitForFunction(() => !!window.__weft?.editor?.getDoc);
  expect(await page.evaluate(() => window.__weft!.start!.source)).toBe('autosave');
  expect(await docText(page)).toBe(serializeGraph(example('tinted-noise')));
  expect(errors).toEqual([]);
});

test('Export JSON then Import gives back the identical graph', async ({ page }) => {
  const errors = await openEditor(page);
  await open(page, edited());
  const want = await docText(page);
  await fileMenu(page);
  const file = await downloadBytes(page, () => page.getByTestId('export-json').click());
  expect(file.name).toMatch(/\.json$/);
  expect(file.bytes.toString('utf8')).toBe(want);

  await fileMenu(page);
  await page.getByTestId('example-tinted-noise').click();
  expect(await docText(page)).toBe(serializeGraph(example('tinted-noise')));
  await fileMenu(page);
  await page.getByTestId('import-file').setInputFiles({ name: file.name, mimeType: 'application/json', buffer: file.bytes });
  await expect.poll(() => docText(page)).toBe(want);
  // the open is one undoable step
  await page.evaluate(() => window.__weft!.editor!.undo());
  expect(await docText(page)).toBe(serializeGraph(example('tinted-noise')));
  expect(errors).toEqual([]);
});

test('a share link opens the identical graph and does not run it', async ({ page, context }) => {
  await openEditor(page);
  await open(page, edited());
  const want = await docText(page);
  await fileMenu(page);
  await page.getByTestId('share-link').click();
  const link = await page.getByTestId('share-url').inputValue();
  expect(link).toMatch(/#g=[A-Za-z0-9_-]+$/);

  const other = await context.newPage();
  const errors = await openEditor(other, link);
  expect(await docText(other)).toBe(want);
  expect(await other.evaluate(() => window.__weft!.start!.source)).toBe('link');
  await expect(other.getByTestId('file-notice')).toContainText('not run');
  // the link is consumed: a reload reopens the autosave, with any edits made since
  expect(new URL(other.url()).hash).toBe('');
  await other.waitForTimeout(1500);
  await expect(other.getByTestId('status')).not.toHaveText(/running|done/);
  expect(await other.evaluate(() => window.__weft!.lastResult)).toBeUndefined();
  expect(errors).toEqual([]);
});

test('a damaged share link says so and opens the default example instead of crashing', async ({ page }) => {
  const errors = await openEditor(page, '/#g=not-a-real-graph');
  await expect(page.getByTestId('file-error')).toContainText('could not open the shared graph');
  await expect(page.getByTestId('file-error')).toContainText('the share link is damaged');
  expect(await docText(page)).toBe(serializeGraph(example('noise-blend')));
  expect(errors).toEqual([]);
});

test('a PNG carrying a graph opens when dropped; a PNG without one says so', async ({ page }) => {
  const errors = await openEditor(page);
  const img = new PNG({ width: 3, height: 2 });
  img.data.fill(200);
  const plain = new Uint8Array(PNG.sync.write(img));
  const doc = edited();
  await dropFile(page, 'picture.png', embedGraph(plain, doc), 'image/png');
  await expect.poll(() => docText(page)).toBe(serializeGraph(doc));

  await dropFile(page, 'holiday.png', plain, 'image/png');
  await expect(page.getByTestId('file-error')).toContainText('carries no Weft graph');
  expect(await docText(page)).toBe(serializeGraph(doc));

  await dropFile(page, 'graph.json', new TextEncoder().encode(serializeGraph(example('tinted-noise'))), 'application/json');
  await expect.poll(() => docText(page)).toBe(serializeGraph(example('tinted-noise')));
  expect(errors).toEqual([]);
});

test('Export PNG writes the ImageOutput picture with the graph inside, and the PNG opens as that graph', async ({ page }) => {
  const errors = await openEditor(page, '/?backend=wasm');
  await open(page, edited());
  const want = await docText(page);
  await fileMenu(page);
  await page.getByTestId('export-png').click();
  await expect(page.getByTestId('file-error')).toContainText('run the graph first');

  await page.getByTestId('run').click();
  await page.waitForFunction(() => window.__weft?.lastResult?.image);
  const shown = await page.evaluate(() => window.__weft!.lastResult!.image!);
  await fileMenu(page);
  const file = await downloadBytes(page, () => page.getByTestId('export-png').click());
  expect(file.name).toMatch(/preview\.png$/);
  const decoded = PNG.sync.read(file.bytes);
  expect([decoded.width, decoded.height]).toEqual([shown.width, shown.height]);
  expect(serializeGraph(loadGraph(graphTextFromPng(file.bytes)))).toBe(want);

  await fileMenu(page);
  await page.getByTestId('example-tinted-noise').click();
  await dropFile(page, file.name, file.bytes, 'image/png');
  await expect.poll(() => docText(page)).toBe(want);
  expect(errors).toEqual([]);
});

test('the library saves, renames, duplicates, deletes (with undo) and reopens graphs', async ({ page }) => {
  const errors = await openEditor(page);
  await open(page, edited());
  const want = await docText(page);
  await fileMenu(page);
  await expect(page.getByTestId('library-empty')).toBeVisible();
  await page.getByTestId('save-name').fill('Alpha');
  await page.getByTestId('save-as').click();
  await expect(page.getByTestId('library-item-Alpha')).toContainText('6 nodes');
  await expect(page.getByTestId('graph-name')).toHaveText('Alpha');

  await page.getByTestId('library-duplicate-Alpha').click();
  await expect(page.getByTestId('library-item-Alpha copy')).toBeVisible();
  await page.getByTestId('library-rename-Alpha copy').click();
  await page.getByTestId('library-rename-input').fill('Beta');
  await page.getByTestId('library-rename-input').press('Enter');
  await expect(page.getByTestId('library-item-Beta')).toBeVisible();
  await expect(page.getByTestId('library-item-Alpha copy')).toHaveCount(0);

  // Save writes edits to the open entry; the other keeps what it had
  await open(page, example('tinted-noise'), 'Alpha');
  await fileMenu(page);
  await page.getByTestId('save-graph').click();
  await expect(page.getByTestId('save-graph')).toBeDisabled();

  await page.getByTestId('library-delete-Alpha').click();
  await expect(page.getByTestId('library-item-Alpha')).toHaveCount(0);
  await page.getByTestId('library-undo-delete').click();
  await expect(page.getByTestId('library-item-Alpha')).toBeVisible();
  await page.getByTestId('library-delete-Alpha').click();
  await expect(page.getByTestId('library-item-Alpha')).toHaveCount(0);

  // the library outlives the page
  await page.reload();
  await page.waitForFunction(() => !!window.__weft?.editor?.getDoc);
  await fileMenu(page);
  await expect(page.locator('[data-testid^="library-item-"]')).toHaveCount(1);
  await page.getByTestId('library-open-Beta').click();
  await expect.poll(() => docText(page)).toBe(want);
  await expect(page.getByTestId('graph-name')).toHaveText('Beta');
  expect(errors).toEqual([]);
});

test('weights stored in IndexedDB come back byte for byte', async ({ page }) => {
  await openEditor(page);
  const back = await page.evaluate(async () => {
    const db = window.__weft!.persist!.db;
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
    await db.writeWeights('vae/step-5', bytes);
    const read = await db.readWeights('vae/step-5');
    return { same: !!read && read.length === bytes.length && read.every((b, i) => b === bytes[i]), list: await db.listWeights() };
  });
  expect(back.same).toBe(true);
  expect(back.list.map((w) => [w.key, w.size])).toEqual([['vae/step-5', 1000]]);
});

test('the runtime reads idb:<key> weights from IndexedDB and the example weights from the bundle', async ({ page }) => {
  await openEditor(page);
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const pageSha = (file: string) =>
    page.evaluate(async (f) => {
      const bytes = await window.__weft!.persist!.readFile(f);
      return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)), (b) => b.toString(16).padStart(2, '0')).join('');
    }, file);

  const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 13) & 255);
  const key = await page.evaluate((b) => window.__weft!.persist!.putWeights('', new Uint8Array(b)), Array.from(bytes));
  expect(key).toMatch(/^sha256-[0-9a-f]{32}$/);
  expect(await pageSha(`idb:${key}`)).toBe(sha(bytes));
  await expect(pageSha('idb:not-there')).rejects.toThrow(/no weights "not-there" in this browser's storage/);

  // every weights file the examples ship (those present when the page was built), as a graph names it
  const dir = new URL('../graphs/weights/', import.meta.url);
  const assets = readdirSync(new URL('../dist/assets/', import.meta.url));
  const shipped = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.safetensors')) : [];
  const built = shipped.filter((f) => assets.some((a) => a.startsWith(`${f.replace(/\.safetensors$/, '')}-`)));
  for (const f of built) expect(await pageSha(`weights/${f}`), f).toBe(sha(readFileSync(new URL(f, dir))));
  await expect(pageSha('weights/no-such-file.safetensors')).rejects.toThrow(/no such file/);
});
