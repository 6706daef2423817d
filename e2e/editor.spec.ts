/**
 * The canvas in real Chromium, driven with the mouse and keyboard as a user would: wiring (a
 * refused wire says why), shapes checked on every edit, the palette, copy/paste through the
 * system clipboard between tabs, and undo/redo over twenty mixed edits returning exactly to every
 * earlier graph (compared as JSON from window.__weft.editor.getDoc()).
 */
import { expect, test } from '@playwright/test';
import { center, docOf, drag, getDoc, graph, handle, openEditor, pick, setParam } from './canvas.ts';

test.use({ viewport: { width: 1600, height: 1000 } });

test('a wrong connection dims incompatible ports while dragging and is refused with its reason', async ({ page }) => {
  await openEditor(page, graph([['prompt', 'Text', { text: 'hi' }, 0, 0], ['noise', 'NoiseSource', {}, 0, 200], ['sum', 'Add', {}, 350, 100]]));
  await drag(page, handle(page, 'prompt', 'out', 'text'), handle(page, 'sum', 'in', 'a'), async () => {
    await expect(page.getByTestId('port-sum-in-a')).toHaveClass(/dim/);
    await expect(page.getByTestId('node-sum')).toHaveClass(/connect-dim/);
  });
  await expect(page.getByTestId('connect-error')).toContainText('input "a" of "sum" expects tensor, got text');
  expect((await docOf(page)).edges).toEqual([]);
  // a compatible port lights up, and the drop connects
  await drag(page, handle(page, 'noise', 'out', 'out'), handle(page, 'sum', 'in', 'a'), async () => {
    await expect(page.getByTestId('port-sum-in-a')).toHaveClass(/fit/);
  });
  expect((await docOf(page)).edges.map((e) => `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}`)).toEqual(['noise.out->sum.a']);
});

test('a shape error shows on the node at once, and goes when a param fixes it', async ({ page }) => {
  await openEditor(
    page,
    graph(
      [['a', 'NoiseSource', { shape: [1, 8, 8, 4] }, 0, 0], ['b', 'NoiseSource', { shape: [1, 4, 4, 4] }, 0, 260], ['sum', 'Add', {}, 380, 120]],
      ['a.out -> sum.a'],
    ),
  );
  await expect(page.getByTestId('port-a-out-out')).toContainText('[1, 8, 8, 4]');
  await drag(page, handle(page, 'b', 'out', 'out'), handle(page, 'sum', 'in', 'b'));
  await expect(page.getByTestId('issues-sum')).toContainText('do not broadcast');
  await expect(page.getByTestId('node-sum')).toHaveClass(/error/);
  await expect(page.getByTestId('port-sum-in-b')).toHaveClass(/bad/);
  const shape = page.getByTestId('param-b-shape');
  await shape.fill('1, 8, 8, 4');
  await shape.press('Enter');
  await expect(page.getByTestId('issues-sum')).toHaveCount(0);
  await expect(page.getByTestId('port-sum-out-out')).toContainText('[1, 8, 8, 4]');
});

test('the palette searches kinds by name and port type and adds one at the pointer', async ({ page }) => {
  await openEditor(page, graph([]));
  const pane = page.locator('.react-flow__pane');
  const box = (await pane.boundingBox())!;
  await page.mouse.dblclick(box.x + 300, box.y + 200);
  await expect(page.getByTestId('palette')).toBeVisible();
  await page.getByTestId('palette-search').fill('scheduler');
  // by port type: the sampler takes a scheduler
  await expect(page.getByTestId('palette-item-Sampler')).toBeVisible();
  await page.getByTestId('palette-search').fill('noise source');
  await expect(page.locator('[data-testid^=palette-item-]').first()).toHaveAttribute('data-testid', 'palette-item-NoiseSource');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-noiseSource')).toBeVisible();
  const n = (await docOf(page)).nodes[0];
  expect(n).toMatchObject({ id: 'noiseSource', type: 'NoiseSource', params: { shape: [1, 8, 8, 4], seed: 0 } });
  // Tab opens it at the pointer too
  await page.mouse.move(box.x + 500, box.y + 300);
  await page.keyboard.press('Tab');
  await page.getByTestId('palette-search').fill('imageoutput');
  await page.keyboard.press('Enter');
  expect((await docOf(page)).nodes.map((x) => x.type)).toEqual(['NoiseSource', 'ImageOutput']);
});

test('a wire dropped on empty canvas opens the palette of compatible kinds and wires the new node', async ({ page }) => {
  await openEditor(page, graph([['noise', 'NoiseSource', {}, 0, 0]]));
  const box = (await page.locator('.react-flow__pane').boundingBox())!;
  await drag(page, handle(page, 'noise', 'out', 'out'), { x: box.x + box.width - 250, y: box.y + 120 });
  await expect(page.getByTestId('palette')).toBeVisible();
  await expect(page.getByTestId('palette-item-Scale')).toBeVisible();
  await expect(page.getByTestId('palette-item-Text')).toHaveCount(0); // no input takes a tensor
  await page.getByTestId('palette-search').fill('scale');
  await page.keyboard.press('Enter');
  const doc = await docOf(page);
  expect(doc.edges.map((e) => `${e.from.node}.${e.from.port}->${e.to.node}.${e.to.port}`)).toEqual(['noise.out->scale.x']);
});

test('copy and paste go through the clipboard as graph JSON, between tabs, with new ids', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openEditor(page, graph([['a', 'NoiseSource', { seed: 7 }, 0, 0], ['g', 'Scale', { factor: 3 }, 300, 0]], ['a.out -> g.x']));
  await pick(page, 'a');
  await pick(page, 'g', true);
  expect(await page.evaluate(() => window.__weft!.editor!.selected())).toEqual(['a', 'g']);
  await page.keyboard.press('Control+c');
  // same tab: fresh ids, the inner wire kept
  await page.mouse.move(400, 500);
  await page.keyboard.press('Control+v');
  await expect(page.locator('.react-flow__node')).toHaveCount(4);
  let doc = await docOf(page);
  expect(doc.nodes.map((n) => n.id)).toEqual(['a', 'g', 'a2', 'g2']);
  expect(doc.edges.map((e) => `${e.from.node}->${e.to.node}`)).toEqual(['a->g', 'a2->g2']);
  expect(doc.nodes[2].params).toEqual({ seed: 7 });
  // another tab
  const other = await context.newPage();
  await openEditor(other, graph([]));
  await other.locator('.react-flow__pane').click();
  await other.keyboard.press('Control+v');
  await expect(other.locator('.react-flow__node')).toHaveCount(2);
  doc = await docOf(other);
  expect(doc.nodes.map((n) => `${n.id}:${n.type}`)).toEqual(['a:NoiseSource', 'g:Scale']);
  expect(doc.edges).toHaveLength(1);
});

test('undo and redo across twenty mixed edits return exactly to each earlier graph', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await openEditor(page, graph([['n1', 'NoiseSource', { shape: [1, 8, 8, 3] }, 0, 0], ['out', 'ImageOutput', {}, 700, 0]]));
  const pane = page.locator('.react-flow__pane');
  const box = (await pane.boundingBox())!;
  const snaps: string[] = [await getDoc(page)];
  const step = async (what: string, act: () => Promise<void>) => {
    await act();
    await expect.poll(() => getDoc(page), { message: `edit "${what}" changed nothing` }).not.toBe(snaps[snaps.length - 1]);
    snaps.push(await getDoc(page));
  };
  const addAt = async (query: string, x: number, y: number) => {
    await page.mouse.dblclick(box.x + x, box.y + y);
    await page.getByTestId('palette-search').fill(query);
    await page.keyboard.press('Enter');
  };
  await step('add scale', () => addAt('scale', 350, 620));
  await step('wire n1 -> scale', () => drag(page, handle(page, 'n1', 'out', 'out'), handle(page, 'scale', 'in', 'x')));
  await step('wire scale -> out', () => drag(page, handle(page, 'scale', 'out', 'out'), handle(page, 'out', 'in', 'image')));
  await step('param factor', async () => {
    await page.getByTestId('param-scale-factor').fill('2.5');
    await page.getByTestId('param-scale-factor').press('Enter');
  });
  await step('move scale', async () => {
    const h = await center(page.getByTestId('id-scale'));
    await page.mouse.move(h.x, h.y);
    await page.mouse.down();
    await page.mouse.move(h.x + 60, h.y + 90, { steps: 6 });
    await page.mouse.up();
  });
  await step('add lerp', () => addAt('lerp', 750, 100));
  await step('wire n1 -> lerp.a', () => drag(page, handle(page, 'n1', 'out', 'out'), handle(page, 'lerp', 'in', 'a')));
  await step('seed dice', () => page.getByTestId('dice-n1-seed').click());
  await step('enum', async () => void (await page.getByTestId('param-n1-distribution').selectOption('uniform')));
  await step('bool', () => page.getByTestId('param-n1-volatile').check());
  await step('copy + paste', async () => {
    await pick(page, 'lerp');
    await page.keyboard.press('Control+c');
    await page.mouse.move(box.x + 150, box.y + 100);
    await page.keyboard.press('Control+v');
  });
  await step('duplicate', async () => {
    await pick(page, 'scale');
    await page.keyboard.press('Control+d');
  });
  await step('rename', async () => {
    await page.getByTestId('id-lerp').dblclick();
    await page.getByTestId('rename-lerp').fill('mix');
    await page.getByTestId('rename-lerp').press('Enter');
  });
  await step('replace a single input', () => drag(page, handle(page, 'lerp2', 'out', 'out'), handle(page, 'out', 'in', 'image')));
  await step('delete a node with its wires', async () => {
    await pick(page, 'scale2');
    await page.keyboard.press('Delete');
  });
  await step('auto-layout', () => page.getByTestId('layout').click());
  await page.waitForTimeout(500); // the fit-view animation after a layout
  await step('wire mix.b', () => drag(page, handle(page, 'scale', 'out', 'out'), handle(page, 'mix', 'in', 'b')));
  await step('delete a wire', async () => {
    await page.mouse.click(...Object.values(await center(page.locator('.react-flow__edge-path').first())) as [number, number]);
    await page.keyboard.press('Backspace');
  });
  await step('text param', async () => {
    await page.getByTestId('param-n1-shape').fill('2 8 8 3');
    await page.getByTestId('param-n1-shape').press('Enter');
  });
  await step('cut', async () => {
    await pick(page, 'lerp2');
    await page.keyboard.press('Control+x');
  });
  expect(snaps).toHaveLength(21);
  expect(await page.evaluate(() => window.__weft!.editor!.history().length)).toBeGreaterThanOrEqual(20);

  for (let i = snaps.length - 2; i >= 0; i--) {
    await page.keyboard.press('Control+z');
    expect(await getDoc(page), `after undoing to edit ${i}`).toBe(snaps[i]);
  }
  for (let i = 1; i < snaps.length; i++) {
    await page.keyboard.press(i % 2 ? 'Control+Shift+z' : 'Control+y');
    expect(await getDoc(page), `after redoing edit ${i}`).toBe(snaps[i]);
  }
  await expect(page.locator('.react-flow__node')).toHaveCount(JSON.parse(snaps[20]).nodes.length);
});

test('a node of an unknown kind opens as a placeholder and its JSON survives edits around it', async ({ page }) => {
  const doc = graph([['fancy', 'FancyNode', { knob: [1, { deep: true }] }, 0, 0], ['show', 'ImageOutput', { columns: 0 }, 400, 0]], ['fancy.image -> show.image']);
  doc.nodes[0].v = 3;
  (doc.nodes[0] as Record<string, unknown>).extra = { kept: 'yes' };
  await openEditor(page, doc);
  await expect(page.getByTestId('node-fancy')).toContainText('unknown: FancyNode');
  await expect(page.getByTestId('issues-fancy')).toContainText('unknown node type "FancyNode"');
  await expect(page.getByTestId('handle-fancy-out-image')).toBeAttached(); // its wire still draws
  await setParam(page, 'show', 'columns', '2');
  const after = await docOf(page);
  expect(after.nodes[0]).toEqual(doc.nodes[0]);
  expect(after.edges).toEqual(doc.edges);
});

test('the help panel lists the shortcuts', async ({ page }) => {
  await openEditor(page);
  await page.locator('.react-flow__pane').click();
  await page.keyboard.press('?');
  await expect(page.getByTestId('help')).toContainText('Ctrl+Shift+Z');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('help')).toHaveCount(0);
});

test('the minimap draws every node in its category colour, and dragging it pans the view', async ({ page }) => {
  await openEditor(page, graph([['noise', 'NoiseSource', {}, 0, 0], ['gain', 'Scale', {}, 350, 0], ['show', 'ImageOutput', {}, 700, 0]], ['noise.out -> gain.x', 'gain.out -> show.image']));
  const map = page.getByTestId('minimap');
  // one path per colour: sources blue, math grey, outputs green, each a rectangle per node
  const fills = await map.locator('path[data-fill]').evaluateAll((ps) => ps.map((p) => [p.getAttribute('data-fill'), (p.getAttribute('d')!.match(/M/g) ?? []).length]));
  expect(Object.fromEntries(fills)).toEqual({ '#3b82c4': 1, '#6b7280': 1, '#1b7f3b': 1 });
  const transform = () => page.evaluate(() => document.querySelector<HTMLElement>('.react-flow__viewport')!.style.transform);
  const before = await transform();
  const box = (await map.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 40, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const after = await transform();
  expect(after).not.toEqual(before);
  // dragging the minimap's window left moves the view left: the graph slides right on screen
  const x = (t: string) => Number(/translate\((-?[\d.]+)px/.exec(t)![1]);
  expect(x(after)).toBeGreaterThan(x(before));
});

test('zoomed far out, a node draws its header and handles only, and its wires stay on its handles', async ({ page }) => {
  await openEditor(page, graph([['noise', 'NoiseSource', {}, 0, 0], ['gain', 'Scale', {}, 350, 0]], ['noise.out -> gain.x']));
  const rowHeight = () => page.getByTestId('port-gain-in-x').evaluate((e) => e.getBoundingClientRect().height);
  const near = await rowHeight();
  await expect(page.getByTestId('port-gain-in-x')).toContainText('tensor');
  await page.evaluate(() => window.__weft!.editor!.setZoom(0.3));
  await expect(page.getByTestId('node-gain')).toHaveClass(/far/);
  await expect(page.getByTestId('port-gain-in-x')).toHaveText('');
  await expect(page.getByTestId('node-gain').locator('input, select')).toHaveCount(0);
  expect(await rowHeight()).toBeCloseTo(near * 0.3, 0);
  // the wire ends where the handle is drawn
  const end = await page.evaluate(() => {
    const d = document.querySelector('.react-flow__edge-path')!.getAttribute('d')!;
    const nums = d.match(/-?[\d.]+/g)!.map(Number);
    const [x, y] = nums.slice(-2);
    const h = document.querySelector('[data-testid="handle-gain-in-x"]')!.getBoundingClientRect();
    const vp = document.querySelector<HTMLElement>('.react-flow__viewport')!;
    const m = /translate\((-?[\d.]+)px, (-?[\d.]+)px\) scale\(([\d.]+)\)/.exec(vp.style.transform)!.slice(1).map(Number);
    const pane = document.querySelector('.react-flow__renderer')!.getBoundingClientRect();
    return { wire: [pane.left + m[0] + x * m[2], pane.top + m[1] + y * m[2]], handle: [h.left + h.width / 2, h.top + h.height / 2] };
  });
  expect(Math.abs(end.wire[0] - end.handle[0])).toBeLessThan(3);
  expect(Math.abs(end.wire[1] - end.handle[1])).toBeLessThan(3);
});
