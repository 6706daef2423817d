/** Driving the canvas as a user does: open a graph, click headers, drag wires. Shared by the editor specs. */
import { expect, type Locator, type Page } from '@playwright/test';
import type { GraphDoc } from '../src/graph/index.ts';
import '../src/editor/global.ts';

export const graph = (nodes: Array<[string, string, Record<string, unknown>, number, number]>, wires: string[] = []): GraphDoc => ({
  format: 'weft.graph',
  version: 1,
  name: 'e2e',
  nodes: nodes.map(([id, type, params, x, y]) => ({ id, type, params, position: { x, y } })),
  edges: wires.map((w, i) => {
    const [from, to] = w.split('->').map((s) => s.trim().split('.'));
    return { id: `w${i}`, from: { node: from[0], port: from[1] }, to: { node: to[0], port: to[1] } };
  }),
  meta: {},
});

export async function openEditor(page: Page, doc?: GraphDoc): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/');
  await page.waitForFunction(() => !!window.__weft?.editor?.layout);
  if (doc) {
    await page.evaluate((d) => window.__weft!.editor!.open(d), doc);
    await expect(page.locator('.react-flow__node')).toHaveCount(doc.nodes.length);
    await page.waitForTimeout(300); // opening fits the view, animated
  }
  expect(errors).toEqual([]);
}

export const getDoc = (page: Page) => page.evaluate(() => JSON.stringify(window.__weft!.editor!.getDoc()));
export const docOf = async (page: Page): Promise<GraphDoc> => JSON.parse(await getDoc(page));

export async function center(l: Locator): Promise<{ x: number; y: number }> {
  const b = (await l.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** A user's wire: press on one handle, move in steps, release over the other (or any point). */
export async function drag(page: Page, from: Locator, to: Locator | { x: number; y: number }, beforeRelease?: () => Promise<void>) {
  const a = await center(from);
  const b = 'x' in to ? to : await center(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await beforeRelease?.();
  await page.mouse.up();
}

/** Clicks a node's header (its middle may be a param field, which keeps the keys). */
export const pick = (page: Page, id: string, shift = false) => page.getByTestId(`id-${id}`).click(shift ? { modifiers: ['Shift'] } : {});

export const handle = (page: Page, node: string, side: 'in' | 'out', port: string) => page.getByTestId(`handle-${node}-${side}-${port}`);


/** The canvas's top-left corner on the page: drop points below are relative to it. */
export async function paneOrigin(page: Page): Promise<{ x: number; y: number }> {
  const b = (await page.locator('.react-flow__pane').boundingBox())!;
  return { x: b.x, y: b.y };
}

/** Drops a wire from `from` on empty canvas at `at` (relative to the pane) and picks `query` in the palette it opens. */
export async function wireToNew(page: Page, from: Locator, at: { x: number; y: number }, query: string): Promise<void> {
  const o = await paneOrigin(page);
  await drag(page, from, { x: o.x + at.x, y: o.y + at.y });
  await expect(page.getByTestId('palette')).toBeVisible();
  await page.getByTestId('palette-search').fill(query);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('palette')).toHaveCount(0);
}

/** Types a value into a param widget and commits it. */
export async function setParam(page: Page, node: string, param: string, value: string): Promise<void> {
  const field = page.getByTestId(`param-${node}-${param}`);
  await field.fill(value);
  await (param === 'text' ? field.press('Control+Enter') : field.press('Enter'));
}
