/**
 * (e) The editor in Chromium (Playwright, the e2e tests' Chromium and flags): how long a
 * 500-node graph takes to open, and frames per second while panning it with the mouse.
 *
 * Load: from `__weft.editor.open(doc)` until every node and wire is in the DOM (React Flow shows
 * a node once it is measured, a wire once both handles are) and a frame has been painted; the
 * median of several opens, each after an empty graph. Panning: the mouse drags the bare canvas
 * back and forth in small steps for ~2 s while the page counts animation frames; at the
 * fit-all zoom (every node on screen) and at 100 %. Figures, not pass/fail: the load has a
 * target of 1 s beside it, fps none.
 *
 * Builds the app with Vite (unless WEFT_BENCH_BUILT=1) and serves it with `vite preview`.
 */
import { chromium, type Page } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { GRAPH_FORMAT, type GraphDoc, type GraphEdge, type GraphNode } from '../../src/index.ts';
import '../../src/editor/global.ts';
import { median, round, type BenchContext, type Row } from '../lib.ts';

const SECTION = 'editor (Chromium)';
const PORT = Number(process.env.WEFT_BENCH_PORT ?? 4192);
const LOAD_TARGET_MS = 1000;

/** 25 rows of 20: noise, then Scales chained, every third column an Add joining the row above. */
export function benchEditorGraph(rows = 25, cols = 20): GraphDoc {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const wire = (from: string, to: string, port: string) => edges.push({ id: `e${edges.length}`, from: { node: from, port: 'out' }, to: { node: to, port } });
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const id = `n${r}_${c}`;
      const position = { x: c * 280, y: r * 240 };
      const prev = `n${r}_${c - 1}`;
      if (c === 0) nodes.push({ id, type: 'NoiseSource', params: { shape: [1, 8, 8, 3], seed: r }, position });
      else if (c % 3 === 0) {
        nodes.push({ id, type: 'Add', params: {}, position });
        wire(prev, id, 'a');
        wire(r > 0 ? `n${r - 1}_${c}` : `n${r}_0`, id, 'b');
      } else {
        nodes.push({ id, type: 'Scale', params: { factor: 1 + c / 100 }, position });
        wire(prev, id, 'x');
      }
    }
  }
  return { format: GRAPH_FORMAT, version: 1, name: `bench ${rows * cols} nodes`, nodes, edges, meta: {} };
}

const empty: GraphDoc = { format: GRAPH_FORMAT, version: 1, name: 'empty', nodes: [], edges: [], meta: {} };

async function startServer(): Promise<() => void> {
  if (process.env.WEFT_BENCH_BUILT !== '1') {
    const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error('vite build failed');
  }
  const server = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
  const stop = () => {
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/`)).ok) return stop;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  stop();
  throw new Error(`vite preview did not start on port ${PORT}`);
}

/** ms from open() to every node and wire drawn and a frame painted. */
function timeOpen(page: Page, doc: GraphDoc): Promise<number> {
  return page.evaluate(async (d) => {
    window.__weft!.editor!.open({ format: 'weft.graph', version: 1, name: 'empty', nodes: [], edges: [], meta: {} });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
    const t0 = performance.now();
    window.__weft!.editor!.open(d);
    await new Promise<void>((resolve) => {
      const tick = () => {
        const nodes = document.querySelectorAll('.react-flow__node:not([style*="visibility: hidden"])').length;
        const edges = document.querySelectorAll('.react-flow__edge').length;
        if (nodes >= d.nodes.length && edges >= d.edges.length) resolve();
        else requestAnimationFrame(tick);
      };
      tick();
    });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))); // the frame that shows them
    return performance.now() - t0;
  }, doc);
}

/** A point on the bare canvas (not on a node, wire or panel), where a drag pans. */
function panePoint(page: Page): Promise<{ x: number; y: number } | undefined> {
  return page.evaluate(() => {
    const r = document.querySelector('.react-flow__pane')!.getBoundingClientRect();
    for (let y = r.top + 80; y < r.bottom - 80; y += 17) {
      for (let x = r.left + 80; x < r.right - 250; x += 13) {
        if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return { x, y };
      }
    }
    return undefined;
  });
}

/** Frames per second while the mouse drags the canvas back and forth, counted by the page. */
async function panFps(page: Page): Promise<{ fps: number; moved: boolean }> {
  const start = await panePoint(page);
  if (!start) return { fps: NaN, moved: false };
  const transform = () => page.evaluate(() => document.querySelector<HTMLElement>('.react-flow__viewport')!.style.transform);
  const before = await transform();
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number; __counting: boolean };
    w.__frames = 0;
    w.__counting = true;
    const tick = () => {
      w.__frames++;
      if (w.__counting) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  let moved = false;
  for (let i = 0; Date.now() - t0 < 2000; i++) {
    const dx = 150 * Math.sin(i / 15); // back and forth, 150 px each way
    await page.mouse.move(start.x + dx, start.y + dx / 3);
    if (i === 3) moved = (await transform()) !== before;
  }
  await page.mouse.up();
  const ms = Date.now() - t0;
  const frames = await page.evaluate(() => {
    const w = window as unknown as { __frames: number; __counting: boolean };
    w.__counting = false;
    return w.__frames;
  });
  return { fps: (frames * 1000) / ms, moved };
}

export async function editorSpeed(ctx: BenchContext): Promise<Row[]> {
  const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
  if (!executablePath) return [{ section: SECTION, metric: 'skipped', value: '-', note: 'no Chromium (set CHROMIUM_PATH)' }];
  const stop = await startServer();
  const browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    // tsx compiles this file keeping function names through an `__name` helper the page lacks
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.waitForFunction(() => !!window.__weft?.editor?.layout);
    const doc = benchEditorGraph();
    const repeats = Math.max(3, Math.min(ctx.repeats, 7));
    await timeOpen(page, doc); // warm-up: JIT, styles
    const loads: number[] = [];
    for (let i = 0; i < repeats; i++) loads.push(await timeOpen(page, doc));
    const load = median(loads);

    await page.getByTestId('fit').click();
    await page.waitForTimeout(400);
    const atFit = await panFps(page);
    await page.evaluate(() => window.__weft!.editor!.setZoom(1));
    await page.waitForTimeout(500);
    const zoom = await page.evaluate(() => /scale\(([\d.]+)\)/.exec(document.querySelector<HTMLElement>('.react-flow__viewport')!.style.transform)?.[1]);
    const atFull = await panFps(page);
    const note = `${doc.nodes.length} nodes, ${doc.edges.length} wires; viewport 1600x1000; load average ${loadavg()[0].toFixed(1)}`;
    return [
      { section: SECTION, metric: 'open a 500-node graph', value: round(load, 0), unit: 'ms', target: `< ${LOAD_TARGET_MS} ms`, ok: load < LOAD_TARGET_MS, note: `${note}; median of ${repeats} after 1 warm-up (${loads.map((x) => round(x, 0)).join(', ')})` },
      { section: SECTION, metric: 'pan, all nodes on screen', value: round(atFit.fps, 1), unit: 'fps', note: atFit.moved ? 'mouse drag on the canvas, 2 s' : 'WARNING: the view did not move' },
      { section: SECTION, metric: `pan at zoom ${zoom ?? '?'}`, value: round(atFull.fps, 1), unit: 'fps', note: atFull.moved ? 'mouse drag on the canvas, 2 s' : 'WARNING: the view did not move' },
    ];
  } finally {
    await browser.close();
    stop();
  }
}
