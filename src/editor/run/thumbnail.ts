/**
 * A tensor read back from a run, as a small picture for a node's preview. No DOM: the result is an
 * RGBA buffer the component puts on a canvas (and a test reads directly).
 *
 *   [N, H, W, C] with C = 1 or 3 and values in [0, 1]   an image grid (the ImageOutput's imageGrid)
 *   any other [N, H, W, C] (latents)                     channel by channel: row n, column c is the
 *                                                        H×W map of channel c of item n, grey from min to max
 *   anything else of rank ≥ 1                            a heat strip: rows × last dim (leading dims
 *                                                        merged); diverging blue–white–red around 0
 *                                                        when the values have both signs, else dark → yellow
 *   a single value                                       just the number
 */
import { imageGrid, type RGBAImage, type TensorData } from '../../runtime/index.ts';

export type ThumbnailKind = 'image' | 'channels' | 'heat' | 'value';
export interface Thumbnail {
  kind: ThumbnailKind;
  image?: RGBAImage;
  /** What is drawn, for the caption: "latents 2×8×8×4 by channel", "min −1.2 max 3.4". */
  caption: string;
  min: number;
  max: number;
}

/** At most this many items (rows of channels) and heat rows/columns are drawn. */
const MAX_ITEMS = 8;
const MAX_ROWS = 256;
const MAX_COLS = 512;
/** A heat strip with few rows is drawn this many pixels tall per row at least. */
const MIN_STRIP_PX = 12;

function range(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : Number(v.toPrecision(3)).toString());
const dims = (shape: number[]) => shape.join('×');

export function tensorThumbnail(t: Pick<TensorData, 'shape' | 'data'>): Thumbnail {
  const [min, max] = range(t.data);
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size <= 1) return { kind: 'value', caption: size ? fmt(Number(t.data[0])) : 'empty', min, max };
  const stats = `min ${fmt(min)} max ${fmt(max)}`;
  if (t.shape.length === 4) {
    const c = t.shape[3];
    if ((c === 1 || c === 3) && min >= 0 && max <= 1) {
      return { kind: 'image', image: imageGrid(t), caption: `images ${dims(t.shape)}`, min, max };
    }
    return { kind: 'channels', image: channelGrid(t, min, max), caption: `${dims(t.shape)} by channel, ${stats}`, min, max };
  }
  return { kind: 'heat', image: heatStrip(t, min, max), caption: `${dims(t.shape)}, ${stats}`, min, max };
}

/** Items down, channels across, one grey H×W tile each with a 1-pixel white gap. */
function channelGrid(t: Pick<TensorData, 'shape' | 'data'>, min: number, max: number): RGBAImage {
  const [n0, h, w, c] = t.shape;
  const n = Math.min(n0, MAX_ITEMS);
  const width = c * w + (c - 1);
  const height = n * h + (n - 1);
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  const scale = max > min ? 255 / (max - min) : 0;
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          const v = Number(t.data[((i * h + y) * w + x) * c + k]);
          const g = Number.isFinite(v) ? Math.round((v - min) * scale) : 0;
          const dst = ((i * (h + 1) + y) * width + k * (w + 1) + x) * 4;
          rgba[dst] = rgba[dst + 1] = rgba[dst + 2] = g;
        }
      }
    }
  }
  return { width, height, rgba };
}

/** Leading dims merged into rows, the last dim across; one pixel per value, short strips stretched. */
function heatStrip(t: Pick<TensorData, 'shape' | 'data'>, min: number, max: number): RGBAImage {
  const cols0 = t.shape.length ? t.shape[t.shape.length - 1] : 1;
  const rows0 = Math.max(1, t.data.length / Math.max(1, cols0));
  const cols = Math.min(cols0, MAX_COLS);
  const rows = Math.min(rows0, MAX_ROWS);
  const rowPx = Math.max(1, Math.ceil(MIN_STRIP_PX / rows));
  const width = cols;
  const height = rows * rowPx;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const color = colormap(min, max);
  for (let r = 0; r < rows; r++) {
    for (let x = 0; x < cols; x++) {
      const [cr, cg, cb] = color(Number(t.data[r * cols0 + x]));
      for (let k = 0; k < rowPx; k++) {
        const dst = ((r * rowPx + k) * width + x) * 4;
        rgba[dst] = cr;
        rgba[dst + 1] = cg;
        rgba[dst + 2] = cb;
        rgba[dst + 3] = 255;
      }
    }
  }
  return { width, height, rgba };
}

/** Diverging around 0 (blue < 0 < red, white at 0) for signed data; dark blue → yellow otherwise. */
export function colormap(min: number, max: number): (v: number) => [number, number, number] {
  if (min < 0 && max > 0) {
    const m = Math.max(-min, max);
    return (v) => {
      if (!Number.isFinite(v)) return [0, 0, 0];
      const s = Math.min(1, Math.abs(v) / m);
      const fade = Math.round(255 * (1 - s));
      return v < 0 ? [fade, fade, 255] : [255, fade, fade];
    };
  }
  const span = max > min ? max - min : 1;
  return (v) => {
    if (!Number.isFinite(v)) return [0, 0, 0];
    const s = Math.min(1, Math.max(0, (v - min) / span));
    return [Math.round(40 + 215 * s), Math.round(20 + 210 * s), Math.round(90 * (1 - s))];
  };
}
