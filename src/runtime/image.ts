/**
 * Turning an image batch [N, H, W, C] of floats in [0, 1] into one RGBA picture: a grid with
 * `columns` tiles across (0 = as square as possible). Shared by the CLI (PNG files) and the
 * browser (canvas ImageData), so both draw the same pixels.
 */
import type { TensorData } from './values.ts';

export interface RGBAImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

export function imageGrid(img: Pick<TensorData, 'shape' | 'data'>, columns = 0): RGBAImage {
  if (img.shape.length !== 4) throw new Error(`an image batch is [N, H, W, C], got rank ${img.shape.length}`);
  const [n, h, w, c] = img.shape;
  if (![1, 3, 4].includes(c)) throw new Error(`images have 1, 3 or 4 channels, got ${c}`);
  const cols = columns > 0 ? Math.min(columns, n) : Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const width = cols * w;
  const height = rows * h;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255);
  for (let i = 0; i < n; i++) {
    const ox = (i % cols) * w;
    const oy = Math.floor(i / cols) * h;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((i * h + y) * w + x) * c;
        const dst = ((oy + y) * width + ox + x) * 4;
        const r = byte(img.data[src]);
        rgba[dst] = r;
        rgba[dst + 1] = c === 1 ? r : byte(img.data[src + 1]);
        rgba[dst + 2] = c === 1 ? r : byte(img.data[src + 2]);
        rgba[dst + 3] = c === 4 ? byte(img.data[src + 3]) : 255;
      }
    }
  }
  return { width, height, rgba };
}
