/**
 * Loss curves and 2-D scatters: the geometry is computed here without a DOM (so a test can check
 * where each value lands), then drawPlot paints it on a canvas.
 *
 *   line:    x_i = left + i·(plotWidth)/(n − 1),   y = bottom − (f(v) − lo)/(hi − lo)·plotHeight
 *            with f = log10 on a log scale; non-finite values break the line
 *   scatter: both axes from the points' own ranges (5 % margin), one colour per label
 */

export interface LineSeries {
  name: string;
  values: number[];
  color?: string;
}

export interface PlotData {
  lines: LineSeries[];
  /** [x0, y0, x1, y1, …] */
  points?: ArrayLike<number>;
  labels?: ArrayLike<number>;
  logScale?: boolean;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface LineGeometry {
  name: string;
  color: string;
  /** Pixel polylines (a non-finite value starts a new one). */
  paths: Array<Array<[number, number]>>;
  last?: number;
}

export interface PlotGeometry {
  lines: LineGeometry[];
  /** The value range of the line panel, in data units (before log). */
  yRange?: [number, number];
  dots: Array<{ x: number; y: number; color: string }>;
  lineBox?: Box;
  scatterBox?: Box;
}

export const PALETTE = ['#2f6fde', '#e0524a', '#2a9d5c', '#c67c14', '#8e5bd0', '#1a9aa8', '#b5477e', '#6b7280', '#9aa41c', '#444'];
/** Lines longer than this are drawn from every k-th value (the last one always). */
const MAX_LINE_POINTS = 1500;
const PAD = { left: 44, right: 8, top: 8, bottom: 16 };

const finite = (v: number) => Number.isFinite(v);

export function plotGeometry(data: PlotData, width: number, height: number): PlotGeometry {
  const hasLines = data.lines.some((l) => l.values.length > 0);
  const nPoints = data.points ? Math.floor(data.points.length / 2) : 0;
  const panels = (hasLines ? 1 : 0) + (nPoints ? 1 : 0);
  const geo: PlotGeometry = { lines: [], dots: [] };
  if (!panels) return geo;
  const panelH = height / panels;
  const box = (i: number): Box => ({ left: PAD.left, top: i * panelH + PAD.top, width: Math.max(1, width - PAD.left - PAD.right), height: Math.max(1, panelH - PAD.top - PAD.bottom) });
  if (hasLines) {
    geo.lineBox = box(0);
    Object.assign(geo, lineGeometry(data, geo.lineBox));
  }
  if (nPoints) {
    geo.scatterBox = box(hasLines ? 1 : 0);
    geo.dots = scatterGeometry(data.points!, data.labels, nPoints, geo.scatterBox);
  }
  return geo;
}

function lineGeometry(data: PlotData, b: Box): Pick<PlotGeometry, 'lines' | 'yRange'> {
  const f = data.logScale ? (v: number) => (v > 0 ? Math.log10(v) : NaN) : (v: number) => v;
  let lo = Infinity;
  let hi = -Infinity;
  let n = 0;
  for (const l of data.lines) {
    n = Math.max(n, l.values.length);
    for (const v of l.values) {
      const y = f(v);
      if (!finite(y)) continue;
      if (y < lo) lo = y;
      if (y > hi) hi = y;
    }
  }
  if (lo > hi) return { lines: [] };
  if (lo === hi) (lo -= 0.5), (hi += 0.5);
  const stride = Math.max(1, Math.ceil(n / MAX_LINE_POINTS));
  const xOf = (i: number) => b.left + (n > 1 ? (i * b.width) / (n - 1) : b.width / 2);
  const yOf = (v: number) => b.top + b.height - ((f(v) - lo) / (hi - lo)) * b.height;
  const lines = data.lines.map((l, k) => {
    const paths: Array<Array<[number, number]>> = [];
    let path: Array<[number, number]> = [];
    for (let i = 0; i < l.values.length; i++) {
      if (i % stride && i !== l.values.length - 1) continue;
      const y = f(l.values[i]);
      if (!finite(y)) {
        if (path.length) paths.push(path);
        path = [];
        continue;
      }
      path.push([xOf(i), yOf(l.values[i])]);
    }
    if (path.length) paths.push(path);
    return { name: l.name, color: l.color ?? PALETTE[k % PALETTE.length], paths, last: l.values[l.values.length - 1] };
  });
  const unlog = (v: number) => (data.logScale ? 10 ** v : v);
  return { lines, yRange: [unlog(lo), unlog(hi)] };
}

function scatterGeometry(points: ArrayLike<number>, labels: ArrayLike<number> | undefined, n: number, b: Box): PlotGeometry['dots'] {
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (const a of [0, 1]) {
      const v = points[2 * i + a];
      if (!finite(v)) continue;
      lo[a] = Math.min(lo[a], v);
      hi[a] = Math.max(hi[a], v);
    }
  }
  for (const a of [0, 1]) {
    if (lo[a] > hi[a]) (lo[a] = -1), (hi[a] = 1);
    const m = (hi[a] - lo[a]) * 0.05 || 0.5;
    lo[a] -= m;
    hi[a] += m;
  }
  const dots: PlotGeometry['dots'] = [];
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    if (!finite(x) || !finite(y)) continue;
    const label = labels && i < labels.length ? Math.abs(Math.trunc(labels[i])) : 0;
    dots.push({
      x: b.left + ((x - lo[0]) / (hi[0] - lo[0])) * b.width,
      y: b.top + b.height - ((y - lo[1]) / (hi[1] - lo[1])) * b.height,
      color: PALETTE[label % PALETTE.length],
    });
  }
  return dots;
}

const tick = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-2) ? v.toExponential(1) : Number(v.toPrecision(3)).toString());

/** Paints the geometry: axes, the min and max of the line panel, lines with a legend, dots. */
export function drawPlot(ctx: CanvasRenderingContext2D, data: PlotData, width: number, height: number): PlotGeometry {
  const geo = plotGeometry(data, width, height);
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.font = '10px system-ui, sans-serif';
  for (const b of [geo.lineBox, geo.scatterBox]) {
    if (!b) continue;
    ctx.strokeStyle = '#c9ced6';
    ctx.lineWidth = 1;
    ctx.strokeRect(b.left + 0.5, b.top + 0.5, b.width, b.height);
  }
  if (geo.lineBox && geo.yRange) {
    const b = geo.lineBox;
    ctx.fillStyle = '#5a6070';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText(tick(geo.yRange[1]), b.left - 4, b.top);
    ctx.textBaseline = 'bottom';
    ctx.fillText(tick(geo.yRange[0]), b.left - 4, b.top + b.height);
    ctx.lineWidth = 1.5;
    geo.lines.forEach((l, k) => {
      ctx.strokeStyle = l.color;
      for (const path of l.paths) {
        ctx.beginPath();
        path.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        if (path.length === 1) ctx.arc(path[0][0], path[0][1], 2, 0, 2 * Math.PI);
        ctx.stroke();
      }
      ctx.fillStyle = l.color;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'top';
      const label = l.last !== undefined && Number.isFinite(l.last) ? `${l.name} ${tick(l.last)}` : l.name;
      ctx.fillText(label, b.left + b.width - 4, b.top + 2 + 12 * k);
    });
  }
  for (const d of geo.dots) {
    ctx.fillStyle = d.color;
    ctx.fillRect(d.x - 1.5, d.y - 1.5, 3, 3);
  }
  return geo;
}
